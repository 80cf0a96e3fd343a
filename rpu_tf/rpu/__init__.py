"""rPU-VAE (paper section 4, Algorithm 1) and the VAE side of its PBT populations.

- :mod:`~rpu_tf.rpu.algorithm`: Algorithm 1 as an orchestrator of injected stages
  (:func:`run_algorithm_1`, :func:`leaf_run`, :func:`meta_epoch`); no file I/O;
- :mod:`~rpu_tf.rpu.stages`: the paper's stages: :func:`pbt_u_vae`, :func:`label`,
  reduce, :func:`pbt_s_vae`;
- :mod:`~rpu_tf.rpu.reduction`: dataset reduction (``reduce_indices``, pure numpy);
- :mod:`~rpu_tf.rpu.journal`: finished metaEpochs on disk, for resuming;
- :mod:`~rpu_tf.rpu.pbt_vae`: PBT of VAE replica groups (gin ``pbt_vae``), the model export;
- :mod:`~rpu_tf.rpu.scoring`: member scorers (UDR, MIG, any metric, surrogate-label MIG);
- :mod:`~rpu_tf.rpu.vae_member`: a replica group as a PBT member;
- :mod:`~rpu_tf.rpu.search_space`: the VAE hyperparameter search space.

What a run directory holds (kind, precision, stages, ...) is :mod:`rpu_tf.layout.run_state`'s.

The whole run with figures and evaluation is :mod:`rpu_tf.pipelines.rpu_vae`, PBT-VAE alone
:mod:`rpu_tf.pipelines.pbt_vae`.
"""

from rpu_tf.rpu.algorithm import (Algorithm1Result, Labelling, Settings, StageOutcome, Stages, leaf_run,
                                  meta_epoch, run_algorithm_1)
from rpu_tf.rpu.pbt_vae import PBTVAEResult, run_pbt_vae
from rpu_tf.metrics.latent_codes import active_latents
from rpu_tf.rpu.reduction import LatentIntervals, ReductionResult, find_intervals, reduce_indices
from rpu_tf.rpu.scoring import MetricScore, MIGScore, SurrogateMIGScore, UDRScore
from rpu_tf.rpu.search_space import batch_size_choices, beta_choices, learning_rate_choices, vae_hyperparameter_space
from rpu_tf.rpu.stages import label, paper_stages, pbt_s_vae, pbt_u_vae
from rpu_tf.rpu.vae_member import VAEMember, VAEMemberFactory, export_replica

__all__ = [
    "Algorithm1Result", "Labelling", "LatentIntervals", "MIGScore", "MetricScore", "PBTVAEResult",
    "ReductionResult", "Settings", "StageOutcome", "Stages", "SurrogateMIGScore", "UDRScore", "VAEMember",
    "VAEMemberFactory", "active_latents", "batch_size_choices", "beta_choices", "export_replica",
    "find_intervals", "label", "leaf_run", "learning_rate_choices", "meta_epoch", "paper_stages",
    "pbt_s_vae", "pbt_u_vae", "reduce_indices", "run_algorithm_1", "run_pbt_vae", "vae_hyperparameter_space",
]
