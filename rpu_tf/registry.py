"""The one registry: which module defines each gin name, pipeline and known name. Lazy.

As in nmichlo/disent's ``registry``, names map to import paths, and nothing is imported
until it is asked for: :func:`register_gin_configurables` imports the modules that define
gin configurables (before a config is parsed), :func:`pipeline` loads one pipeline,
:func:`known_names` lists what configs may name. This module imports nothing of rpu_tf at
import time, so any layer may read it.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Iterable, Optional

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
    "rpu_tf.rpu.pbt_vae": ("pbt_vae",),
    "rpu_tf.rpu.reduction": ("active_latents", "reduction"),
    "rpu_tf.rpu.scoring": ("metric_score", "mig_score", "surrogate_mig_score", "udr_score"),
    "rpu_tf.rpu.search_space": (
        "batch_size_choices", "beta_choices", "learning_rate_choices", "vae_hyperparameters",),
    "rpu_tf.studies.spec": ("study", "study_method"),
    "rpu_tf.training.optimizers": ("AdamOptimizer", "discriminator_optimizer", "vae_optimizer"),
    "rpu_tf.training.runtime": ("training",),
    "rpu_tf.training.supervision": ("supervision",),
    "rpu_tf.training.train": ("model",),
    "rpu_tf.utils.gin_files": ("pipeline",),
}

#: ``pipeline.name`` -> ``"module:function"``, called as
#: ``f(model_dir, overwrite, gin_config_files, gin_bindings)``.
PIPELINES: dict[str, str] = {
    "single_model": "rpu_tf.training.train:train_with_gin",
    "pbt_vae": "rpu_tf.rpu.pbt_vae:pbt_vae_with_gin",
    "rpu_vae": "rpu_tf.pipelines.rpu_vae:rpu_vae_with_gin",
}

#: Configurables that only some pipelines read (``pipeline.name`` values). A binding given
#: for one of them (``--gin_bindings``) under any other pipeline would silently do nothing, so
#: the pipelines refuse it (:func:`rpu_tf.utils.gin_files.check_bindings_are_read`). Config
#: files may carry settings of several pipelines (the study reuses quickstart.gin for PBT).
_PBT = ("pbt_vae", "rpu_vae")
PIPELINE_ONLY: dict[str, tuple[str, ...]] = {
    **{name: _PBT for name in ("pbt", "pbt_vae", "pbt_stopping", "local_executor", "ray_executor", "udr_score",
                               "mig_score", "metric_score", "surrogate_mig_score", "vae_hyperparameters",
                               "batch_size_choices", "beta_choices", "learning_rate_choices")},
    **{name: ("rpu_vae",) for name in ("rpu_vae", "active_latents", "reduction")},
    **{name: ("single_model",) for name in ("model", "supervision")},
    **{name: () for name in ("study", "study_method")},  # rpu_study's, no pipeline's
}

#: What configs may name, per kind: ``"module:attribute"`` of a dict (its keys) or a function.
KNOWN_NAMES: dict[str, str] = {
    "models": "rpu_tf.models:MODELS",
    "encoders": "rpu_tf.models:ENCODERS",
    "decoders": "rpu_tf.models:DECODERS",
    "reconstruction losses": "rpu_tf.models:RECONSTRUCTION_LOSSES",
    "data sets": "rpu_tf.data.named_data:known_dataset_names",
    "metrics": "rpu_tf.evaluation.evaluate:METRICS",
    "pipelines": "rpu_tf.registry:PIPELINES",
}


def load(spec: str) -> Any:
    """The object at ``"module:attribute"`` (importing the module)."""
    module, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module), attribute)


def register_gin_configurables(names: Optional[Iterable[str]] = None) -> None:
    """Imports the modules defining the gin configurables ``names`` (None: all of them)."""
    wanted = None if names is None else set(names)
    for module, defined in GIN_CONFIGURABLES.items():
        if wanted is None or wanted.intersection(defined):
            importlib.import_module(module)


def pipeline(name: str) -> Callable:
    """The ``*_with_gin`` function of pipeline ``name``."""
    if name not in PIPELINES:
        raise ValueError(f"unknown pipeline {name!r}; known: {', '.join(PIPELINES)}.")
    return load(PIPELINES[name])


def known_names() -> str:
    """``kind: name, name, ...; ...`` of every name kind configs may use."""
    parts = []
    for kind, spec in KNOWN_NAMES.items():
        names = load(spec)
        parts.append(f"{kind}: {', '.join(sorted(names() if callable(names) else names))}")
    return "; ".join(parts)
