"""Which pipeline a command runs: ``pipeline.name`` of its gin configs picks it, here only.

``rpu_train`` and the study runner (its in-process launcher; its subprocesses are
``rpu_train``) turn a command line into a pipeline and its settings with
:func:`choose_pipeline`::

    call = choose_pipeline("runs/q", ["gin_configs/quickstart.gin"], [])
    call.name          # "rpu_vae"
    call.run()         # rpu_vae_with_gin(model_dir="runs/q", overwrite=False, ...)

:func:`known_names` lists what configs may name, for error messages.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional, Sequence

import gin

from rpu_tf import registry
from rpu_tf.data.named_data import known_dataset_names
from rpu_tf.evaluation.evaluate import METRICS
from rpu_tf.models import DECODERS, ENCODERS, MODELS, RECONSTRUCTION_LOSSES
from rpu_tf.pipelines.pbt_vae import pbt_vae_with_gin
from rpu_tf.pipelines.rpu_vae import rpu_vae_with_gin
from rpu_tf.pipelines.single_model import train_with_gin
from rpu_tf.utils.gin_files import parse_gin, pipeline_name

#: ``pipeline.name`` -> the pipeline, called as
#: ``f(model_dir, overwrite, gin_config_files, gin_bindings, **options)`` (the names are
#: :data:`rpu_tf.utils.gin_files.PIPELINE_NAMES`).
PIPELINES: dict[str, Callable[..., Any]] = {
    "single_model": train_with_gin,
    "pbt_vae": pbt_vae_with_gin,
    "rpu_vae": rpu_vae_with_gin,
}


class PipelineCall(NamedTuple):
    """A chosen pipeline and its settings (the pipeline's keyword arguments)."""

    name: str
    pipeline: Callable[..., Any]
    settings: dict[str, Any]

    def run(self) -> Any:
        """Runs the pipeline on its settings; returns what it returns."""
        return self.pipeline(**self.settings)


def pipeline(name: str) -> Callable[..., Any]:
    """The pipeline called ``name`` (a ``pipeline.name`` value)."""
    if name not in PIPELINES:
        raise ValueError(f"unknown pipeline {name!r}; known: {', '.join(PIPELINES)}.")
    return PIPELINES[name]


def select_pipeline(gin_config_files: Sequence[str], gin_bindings: Sequence[str]) -> str:
    """Parses the config once to read ``pipeline.name``; leaves gin cleared."""
    registry.register_gin_configurables()
    parse_gin(gin_config_files, gin_bindings)
    try:
        return pipeline_name()
    finally:
        gin.clear_config()


def choose_pipeline(model_dir: str, gin_config_files: Sequence[str], gin_bindings: Sequence[str],
                    overwrite: bool = False, redo_from: Optional[str] = None) -> PipelineCall:
    """The pipeline ``gin_config_files`` and ``gin_bindings`` name, with its settings: the run
    directory, ``overwrite``, the configs and, for rPU-VAE runs, ``redo_from``.

    Raises:
      ValueError: an unknown ``pipeline.name``, or ``redo_from`` for a pipeline other than
        ``rpu_vae``.
    """
    name = select_pipeline(gin_config_files, gin_bindings)
    settings: dict[str, Any] = {"model_dir": model_dir, "overwrite": bool(overwrite),
                                "gin_config_files": list(gin_config_files), "gin_bindings": list(gin_bindings)}
    if redo_from:
        if name != "rpu_vae":
            raise ValueError(f"--redo_from is for rPU-VAE runs (pipeline.name = 'rpu_vae'); this config runs "
                             f"{name!r}.")
        settings["redo_from"] = redo_from
    return PipelineCall(name, pipeline(name), settings)


#: What configs may name, per kind (``known_names``).
KNOWN_NAMES: dict[str, Callable[[], Any]] = {
    "models": lambda: MODELS,
    "encoders": lambda: ENCODERS,
    "decoders": lambda: DECODERS,
    "reconstruction losses": lambda: RECONSTRUCTION_LOSSES,
    "data sets": known_dataset_names,
    "metrics": lambda: METRICS,
    "pipelines": lambda: PIPELINES,
}


def known_names() -> str:
    """``kind: name, name, ...; ...`` of every name kind configs may use."""
    return "; ".join(f"{kind}: {', '.join(sorted(names()))}" for kind, names in KNOWN_NAMES.items())
