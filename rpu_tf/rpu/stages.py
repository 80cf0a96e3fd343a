"""The paper's stages of Algorithm 1: PBT-U-VAE, labelling, reduction, PBT-S-VAE.

- :func:`pbt_u_vae`: a metaEpoch's population, scored by UDR, in ``stages/<stage>/``
  (PBT settings from gin, overridden by the ``metaepoch/`` scope, and within it by
  ``metaepoch/initial/`` or ``metaepoch/leaf/``: :func:`meta_epoch_scope`);
- :func:`label`: the best replica encodes the metaEpoch's data set; its active latents
  (:func:`~rpu_tf.metrics.latent_codes.active_latents`) are the surrogate labels;
- reduce: :func:`~rpu_tf.rpu.reduction.reduce_indices` (gin scope ``reduction``);
- :func:`pbt_s_vae`: the final population on the whole data set, scored by
  :class:`~rpu_tf.rpu.scoring.SurrogateMIGScore` (per leaf-run the MIG against its label
  blocks, then the median), exported to ``RUN/model`` (PBT settings: ``final/`` scope);
  from scratch as in the paper, or warm-started (:data:`FINAL_WARM_STARTS`); with a
  supervision weight also trained on the surrogate labels
  (:mod:`rpu_tf.rpu.surrogate_supervision`; the paper only scores with them).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from typing import Callable, Optional

import gin
import numpy as np

from rpu_tf.data.ground_truth_data import FiniteGroundTruthData
from rpu_tf.layout import paths, rpu_files
from rpu_tf.metrics.latent_codes import active_latents
from rpu_tf.models import architectures
from rpu_tf.rpu.algorithm import LabelBlocks, Labelling, StageOutcome, Stages
from rpu_tf.rpu.journal import StageJournal
from rpu_tf.rpu.pbt_vae import PBTVAEResult, run_pbt_vae
from rpu_tf.rpu.reduction import reduce_indices
from rpu_tf.rpu.scoring import SurrogateMIGScore, UDRScore
from rpu_tf.rpu.surrogate_supervision import surrogate_supervision
from rpu_tf.training.export import load_keras
from rpu_tf.training.representation import encode_data_set, gaussian_kl_per_latent

#: How the final PBT-S-VAE's members start: ``"none"``, random weights (the paper);
#: ``"initial"``, every member's replicas start from the initial metaEpoch's best replica
#: (fresh optimizer state, the member's own drawn hyperparameters), so the final stage
#: refines the model UDR selected instead of learning the factors again.
FINAL_WARM_STARTS = ("none", "initial")

logger = logging.getLogger(__name__)


def pbt_u_vae(run_dir: str, name: str, data: FiniteGroundTruthData, seed: int) -> PBTVAEResult:
    """PBT-U-VAE of metaEpoch ``name`` on ``data`` in ``stages/<name>/``."""
    with gin.config_scope("metaepoch"), gin.config_scope(meta_epoch_scope(name)):
        return run_pbt_vae(paths.stage_dir(run_dir, name), data, scorer=UDRScore(), seed=seed,
                           fingerprint={"stage": name})


def meta_epoch_scope(name: str) -> str:
    """The gin scope inside ``metaepoch/`` of metaEpoch ``name``: ``initial`` for the first one
    (on the whole data set), ``leaf`` for the leaf-runs' metaEpochs (on reduced sets).

    ``metaepoch/pbt_vae.x`` sets both; ``metaepoch/initial/pbt_vae.x`` or
    ``metaepoch/leaf/pbt_vae.x`` one kind only (the paper uses the same settings for all).
    """
    return "initial" if name == "initial" else "leaf"


def label(result: PBTVAEResult, data: FiniteGroundTruthData, encode_batch_size: int) -> Labelling:
    """Codes, per-latent KL and active latents of ``data`` under the result's best replica."""
    model = result.load_best_member().group.model(result.best_replica)
    means, logvars = encode_data_set(model, data, batch_size=encode_batch_size)
    kl = gaussian_kl_per_latent(means, logvars)
    return Labelling(best_score=float(result.pbt.best_score), generations=result.pbt.generations,
                     stop_reason=result.pbt.stop_reason, kl=kl, means=means, active=active_latents(kl))


def warm_start_weights(run_dir: str, warm_start: str) -> Optional[list[np.ndarray]]:
    """The weights the final stage starts from (:data:`FINAL_WARM_STARTS`); None: random."""
    model = warm_start_model(run_dir, warm_start)
    return None if model is None else model.get_weights()


def warm_start_model(run_dir: str, warm_start: str):
    """The model the final stage starts from (:data:`FINAL_WARM_STARTS`); None: random."""
    if warm_start not in FINAL_WARM_STARTS:
        raise ValueError(f"rpu_vae.final_warm_start must be one of {FINAL_WARM_STARTS}, got {warm_start!r}.")
    if warm_start == "none":
        return None
    path = os.path.join(paths.stage_dir(run_dir, "initial"), paths.MODEL_DIR, paths.KERAS_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"final_warm_start='initial' needs the initial metaEpoch's model {path}; it is "
                                "missing (the stage did not finish or its folder was removed).")
    return load_keras(path, rpu_files.redo_stage_hint("initial"))  # damaged: one line naming --redo_from=initial


@dataclasses.dataclass(frozen=True)
class FinalSupervision:
    """The supervised term of the final stage on the surrogate labels (weight 0: the paper's
    final stage, labels only score). See :mod:`rpu_tf.rpu.surrogate_supervision`."""

    weight: float = 0.0
    loss: str = "l2"
    batch_size: int = 64


def pbt_s_vae(run_dir: str, data: FiniteGroundTruthData, surrogate: list[LabelBlocks], seed: int,
              warm_start: str = "none", supervised: FinalSupervision = FinalSupervision()) -> PBTVAEResult:
    """The final PBT-S-VAE on ``data`` against the surrogate label blocks, in ``run_dir``,
    from scratch or warm-started (``warm_start``, one of :data:`FINAL_WARM_STARTS`), and
    trained on the labels too when ``supervised.weight > 0``."""
    model = warm_start_model(run_dir, warm_start)
    supervision = None
    if supervised.weight > 0:
        encoder = None if model is None else (  # in chunks: the initial block is the whole data set
            lambda indices: encode_data_set(model, data, indices=indices)[0])
        with gin.config_scope("final"):
            num_latent = architectures.resolve_encoder()[1] if model is None else model.num_latent
        supervision = surrogate_supervision(surrogate, int(num_latent), supervised.weight, supervised.loss,
                                            supervised.batch_size, warm_encoder=encoder)
        logger.info("Final PBT-S-VAE trained on the surrogate labels: %s.", supervision.describe())
    with gin.config_scope("final"):
        return run_pbt_vae(run_dir, data, scorer=SurrogateMIGScore(surrogate), seed=seed,
                           fingerprint={"stage": "final", "warm_start": warm_start,
                                        "label_blocks": [[len(i) for i, _ in run] for run in surrogate]},
                           initial_weights=None if model is None else model.get_weights(),
                           supervision=supervision)


def paper_stages(run_dir: str, data: FiniteGroundTruthData, seed: int, encode_batch_size: int,
                 on_stage: Callable[[StageOutcome], None] = lambda outcome: None,
                 final_warm_start: str = "none", final_supervision: FinalSupervision = FinalSupervision()) -> Stages:
    """The stages of the paper's rPU-VAE in ``run_dir``, journalled in its manifest
    (``final_warm_start``: see :data:`FINAL_WARM_STARTS`; the paper's is ``"none"``;
    ``final_supervision``: the paper's has weight 0)."""
    return Stages(meta_epoch=functools.partial(pbt_u_vae, run_dir),
                  label=functools.partial(label, encode_batch_size=encode_batch_size),
                  reduce=lambda labels, rank: reduce_indices(labels, rank=rank),
                  final=lambda surrogate: pbt_s_vae(run_dir, data, surrogate, seed, final_warm_start,
                                                    final_supervision),
                  journal=StageJournal(run_dir), on_stage=on_stage)
