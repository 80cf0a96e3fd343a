"""Which pipeline a command runs: ``pipeline.name`` of its gin configs picks it, here only.

``rpu_train`` and the study runner (its in-process launcher; its subprocesses are
``rpu_train``) run a command line with :func:`run_pipeline`, which parses the configs once,
reads ``pipeline.name`` from that parse and runs the pipeline on it::

    ran = run_pipeline("runs/q", ["gin_configs/quickstart.gin"], [])
    ran.name       # "rpu_vae"
    ran.result     # what rpu_vae_from_gin returned: the run's summary

:func:`known_names` lists what configs may name, for error messages.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, NamedTuple, Optional, Sequence

from rpu_tf import registry
from rpu_tf.data.named_data import known_dataset_names
from rpu_tf.evaluation.evaluate import METRICS
from rpu_tf.models import DECODERS, ENCODERS, MODELS, RECONSTRUCTION_LOSSES
from rpu_tf.pipelines.pbt_vae import pbt_vae_from_gin
from rpu_tf.pipelines.rpu_vae import rpu_vae_from_gin
from rpu_tf.pipelines.single_model import train_from_gin
from rpu_tf.training.gin_context import parsed_gin
from rpu_tf.utils.gin_files import check_bindings_are_read, pipeline_name, with_model_name

logger = logging.getLogger(__name__)

#: ``pipeline.name`` -> the pipeline, run on the parsed config as
#: ``f(model_dir, overwrite, **options)`` (the names are
#: :data:`rpu_tf.utils.gin_files.PIPELINE_NAMES`).
PIPELINES: dict[str, Callable[..., Any]] = {
    "single_model": train_from_gin,
    "pbt_vae": pbt_vae_from_gin,
    "rpu_vae": rpu_vae_from_gin,
}


class PipelineRun(NamedTuple):
    """The pipeline a command ran and what it returned."""

    name: str
    result: Any


def pipeline(name: str) -> Callable[..., Any]:
    """The pipeline called ``name`` (a ``pipeline.name`` value)."""
    if name not in PIPELINES:
        raise ValueError(f"unknown pipeline {name!r}; known: {', '.join(PIPELINES)}.")
    return PIPELINES[name]


def run_pipeline(model_dir: str, gin_config_files: Sequence[str], gin_bindings: Sequence[str],
                 overwrite: bool = False, redo_from: Optional[str] = None) -> PipelineRun:
    """Parses ``gin_config_files`` and ``gin_bindings`` once, runs the pipeline their
    ``pipeline.name`` names on that config in ``model_dir`` (``redo_from`` for rPU-VAE runs),
    clears gin; returns the name and what the pipeline returned.

    Raises:
      ValueError: an unknown ``pipeline.name``, a binding the pipeline never reads, or
        ``redo_from`` for a pipeline other than ``rpu_vae``.
    """
    registry.register_gin_configurables()
    bindings = [str(b) for b in gin_bindings]
    # model.name follows a swapped model.model (the run is labelled with the model it trains);
    # both are single-model bindings, which the other pipelines refuse below anyway
    with parsed_gin(gin_config_files, with_model_name(bindings)):
        name = pipeline_name()
        run = pipeline(name)
        check_bindings_are_read(name, bindings)
        options: dict[str, Any] = {}
        if redo_from:
            if name != "rpu_vae":
                raise ValueError(f"--redo_from is for rPU-VAE runs (pipeline.name = 'rpu_vae'); this config runs "
                                 f"{name!r}.")
            options["redo_from"] = redo_from
        logger.info("Pipeline %s -> %s", name, model_dir)
        return PipelineRun(name, run(model_dir, bool(overwrite), **options))


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
