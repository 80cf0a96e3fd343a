"""What ``rpu_train`` runs, chosen by the gin config: ``pipeline.name``.

- ``"single_model"`` (default): one model, disentanglement_lib's ``train`` step
  (:func:`rpu_tf.training.train.train_with_gin`);
- ``"pbt_vae"``: population-based training of VAE replica groups
  (:func:`rpu_tf.rpu.pbt_vae.pbt_vae_with_gin`);
- ``"rpu_vae"``: the whole rPU-VAE recursion (:func:`rpu_tf.rpu.recursive.rpu_vae_with_gin`).
"""

from __future__ import annotations

from typing import Callable, Sequence

import gin
from rpu_tf.utils.gin_files import PIPELINES, parse_gin, pipeline_name



def register_configurables() -> None:
    """Imports every module that registers gin names configs may use."""
    import rpu_tf.data  # noqa: F401
    import rpu_tf.evaluation  # noqa: F401
    import rpu_tf.metrics  # noqa: F401
    import rpu_tf.models  # noqa: F401
    import rpu_tf.pbt  # noqa: F401
    import rpu_tf.rpu.pbt_vae  # noqa: F401
    import rpu_tf.rpu.recursive  # noqa: F401
    import rpu_tf.training  # noqa: F401
    import rpu_tf.visualize  # noqa: F401


def select_pipeline(gin_config_files: Sequence[str], gin_bindings: Sequence[str]) -> str:
    """Parses the config once to read ``pipeline.name``; leaves gin cleared."""
    register_configurables()
    parse_gin(gin_config_files, gin_bindings)
    try:
        return pipeline_name()
    finally:
        gin.clear_config()


def pipeline_function(name: str) -> Callable:
    """``f(model_dir, overwrite, gin_config_files, gin_bindings)`` of pipeline ``name``."""
    if name == "single_model":
        from rpu_tf.training.train import train_with_gin

        return train_with_gin
    if name == "pbt_vae":
        from rpu_tf.rpu.pbt_vae import pbt_vae_with_gin

        return pbt_vae_with_gin
    if name == "rpu_vae":
        from rpu_tf.rpu.recursive import rpu_vae_with_gin

        return rpu_vae_with_gin
    raise ValueError(f"unknown pipeline {name!r}; known: {', '.join(PIPELINES)}.")
