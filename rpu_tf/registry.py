"""The one registry: which module defines each gin name. Lazy.

As in nmichlo/disent's ``registry``, names map to import paths, and nothing is imported
until it is asked for: :func:`register_gin_configurables` imports the modules that define
gin configurables (before a config is parsed). This module imports nothing of rpu_tf, so
any layer may read it. Which pipeline a config runs is :mod:`rpu_tf.pipelines.choice`'s;
which configurables only some pipelines read, :mod:`rpu_tf.utils.gin_files`'.
"""

from __future__ import annotations

import importlib
from typing import Iterable, Optional

#: Module -> the gin configurables it defines (``tests/test_registry.py`` keeps this complete).
GIN_CONFIGURABLES: dict[str, tuple[str, ...]] = {
    "rpu_tf.data.cars3d": ("cars3d",),
    "rpu_tf.data.dsprites": ("dsprites",),
    "rpu_tf.data.images": ("celeba", "images"),
    "rpu_tf.data.mpi3d": ("mpi3d",),
    "rpu_tf.data.named_data": ("dataset",),
    "rpu_tf.data.shapes3d": ("shapes3d",),
    "rpu_tf.data.smallnorb": ("smallnorb",),
    "rpu_tf.data.sprites": ("sprites",),
    "rpu_tf.evaluation.evaluate": ("evaluation",),
    "rpu_tf.evaluation.ground_truth": ("ground_truth_evaluation",),
    "rpu_tf.evaluation.postprocess": ("mean_representation", "postprocess", "sampled_representation"),
    "rpu_tf.metrics.beta_vae": ("beta_vae_sklearn",),
    "rpu_tf.metrics.dci": ("dci", "dci_validation"),
    "rpu_tf.metrics.downstream_task": ("downstream_task",),
    "rpu_tf.metrics.factor_vae": ("factor_vae_score", "prune_dims"),
    "rpu_tf.metrics.irs": ("irs",),
    "rpu_tf.metrics.latent_codes": ("active_latents",),
    "rpu_tf.metrics.mig": ("mig", "mig_gaps", "mig_validation"),
    "rpu_tf.metrics.modularity_explicitness": ("modularity_explicitness",),
    "rpu_tf.metrics.sap_score": ("sap_score", "sap_score_validation"),
    "rpu_tf.metrics.surrogate_mig": ("surrogate_mig",),
    "rpu_tf.metrics.udr": ("udr_sklearn",),
    "rpu_tf.metrics.unsupervised_metrics": ("unsupervised_metrics",),
    "rpu_tf.metrics.utils": (
        "discretizer", "gradient_boosting_classifier", "histogram_discretizer", "logistic_regression_cv",
        "predictor",),
    "rpu_tf.models.architectures": (
        "conv_encoder", "decoder", "deconv_decoder", "discriminator", "encoder", "fc_decoder",
        "fc_discriminator", "fc_encoder",),
    "rpu_tf.models.losses": ("bernoulli_loss", "l2_loss", "reconstruction_loss"),
    "rpu_tf.models.vae": ("annealed_vae", "beta_tc_vae", "dip_vae", "factor_vae", "vae"),
    "rpu_tf.pbt.controller": ("pbt",),
    "rpu_tf.pbt.executors": ("local_executor",),
    "rpu_tf.pbt.ray_executor": ("ray_executor",),
    "rpu_tf.pbt.stopping": ("pbt_stopping",),
    "rpu_tf.pipelines.rpu_vae": ("rpu_vae",),
    "rpu_tf.pipelines.single_model": ("model",),
    "rpu_tf.rpu.pbt_vae": ("pbt_vae",),
    "rpu_tf.rpu.reduction": ("reduction",),
    "rpu_tf.rpu.scoring": ("metric_score", "mig_score", "surrogate_mig_score", "udr_score"),
    "rpu_tf.rpu.search_space": (
        "batch_size_choices", "beta_choices", "learning_rate_choices", "vae_hyperparameters",),
    "rpu_tf.studies.spec": ("study", "study_method"),
    "rpu_tf.training.optimizers": ("AdamOptimizer", "discriminator_optimizer", "vae_optimizer"),
    "rpu_tf.training.runtime": ("training",),
    "rpu_tf.training.supervision": ("supervision",),
    "rpu_tf.utils.gin_files": ("pipeline",),
}


def register_gin_configurables(names: Optional[Iterable[str]] = None) -> None:
    """Imports the modules defining the gin configurables ``names`` (None: all of them)."""
    wanted = None if names is None else set(names)
    for module, defined in GIN_CONFIGURABLES.items():
        if wanted is None or wanted.intersection(defined):
            importlib.import_module(module)
