"""Evaluate trained models as disentanglement_lib's study does: postprocess, then metrics.

For every model (:func:`~rpu_tf.evaluation.model_dirs.find_models`), every representation
(``mean``, ``sampled``) and every metric config, :func:`evaluate_model` writes::

    RUN/postprocessed/<representation>/            (postprocess_with_gin; reused if current)
    RUN/metrics/<representation>/<metric>/results/ (evaluate_with_gin)

as ``dlib_reproduce``'s postprocessing and evaluation loops do, except that the seeds are
the configs' own (``postprocess.random_seed = 0``, ``evaluation.random_seed = 0``, as with
``dlib_postprocess``/``dlib_evaluate``), not drawn per run. A postprocessed representation
that exists is reused when it was made from the same trained model (same
``train_results.uuid``) with the same ``postprocess_fn`` and seed; existing metric outputs
are replaced only with ``overwrite``, and then only once every new output is complete (they
are written beside the old ones and swapped in at the end: a failing metric leaves the old
results byte for byte).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from typing import Optional, Sequence

import gin

from rpu_tf.evaluation.evaluate import evaluate_with_gin, parse_metric_config
from rpu_tf.evaluation.metric_configs import expand_metric_configs
from rpu_tf.evaluation.model_dirs import (NotATrainedModelError, TrainedModel, find_models,
                                          locate_representation)
from rpu_tf.evaluation.postprocess import POSTPROCESS_CONFIGS, postprocess_with_gin
from rpu_tf.layout import paths
from rpu_tf.layout.replace import Replacement, replaced_on_success
from rpu_tf.utils.gin_imports import imports_refused

logger = logging.getLogger(__name__)


def postprocess_bindings(representation: str, gin_bindings: Sequence[str] = ()) -> list[str]:
    """The study's bindings for ``representation`` plus ``postprocess.name`` and the user's."""
    if representation not in POSTPROCESS_CONFIGS:
        raise ValueError(f"Unknown representation {representation!r}; known: "
                         f"{', '.join(sorted(POSTPROCESS_CONFIGS))}.")
    return (POSTPROCESS_CONFIGS[representation] + [f"postprocess.name = '{representation}'"]
            + list(gin_bindings))


def _read_json(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _expected_postprocess_config(bindings: Sequence[str]) -> dict[str, str]:
    """``postprocess.postprocess_fn`` and ``postprocess.random_seed`` as gin would write them."""
    with imports_refused():
        gin.parse_config_files_and_bindings([], list(bindings))
    try:
        fn = gin.query_parameter("postprocess.postprocess_fn")
        seed = gin.query_parameter("postprocess.random_seed")
    finally:
        gin.clear_config()
    return {"postprocess.postprocess_fn": f"@{fn.selector}", "postprocess.random_seed": repr(seed)}


def is_current(model: TrainedModel, postprocessed_dir: str, bindings: Sequence[str]) -> bool:
    """Whether ``postprocessed_dir`` is complete and was made from ``model`` with ``bindings``."""
    try:
        representation = locate_representation(postprocessed_dir)
        made_from = _read_json(os.path.join(representation.results_dir, "json", "train_results.json"))
        config = _read_json(os.path.join(representation.results_dir, "json", "postprocess_config.json"))
        trained = _read_json(model.train_results)
    except (NotATrainedModelError, OSError, ValueError):
        return False
    expected = _expected_postprocess_config(bindings)
    return (made_from.get("uuid") == trained.get("uuid")
            and all(config.get(k) == v for k, v in expected.items()))


def ensure_postprocessed(model: TrainedModel, representation: str,
                         gin_bindings: Sequence[str] = (), overwrite: bool = False,
                         replacement: Optional[Replacement] = None) -> str:
    """``RUN/postprocessed/<representation>``, postprocessing the model unless it is current;
    with ``replacement`` the new one is written beside the old one (the folder returned),
    which it replaces when ``replacement`` commits."""
    output = model.postprocessed_dir(representation)
    bindings = postprocess_bindings(representation, gin_bindings)
    if os.path.isdir(output) and os.listdir(output) and not overwrite:
        if is_current(model, output, bindings):
            logger.info("Reusing %s.", output)
            return output
        raise FileExistsError(_stale_message([output]))
    if replacement is not None:
        output = replacement.stage(output)
    postprocess_with_gin(model.model_dir, output, overwrite and replacement is None, [], bindings)
    return output


def _stale_message(paths: Sequence[str]) -> str:
    return (f"Cannot reuse the postprocessed representation(s) {', '.join(paths)}: incomplete, "
            "or made from another trained model or with other postprocessing settings; pass "
            "--overwrite to redo them.")


def stale_representations(models: Sequence[TrainedModel], representations: Sequence[str],
                          gin_bindings: Sequence[str] = ()) -> list[str]:
    """Postprocessed folders that exist but cannot be reused (see :func:`is_current`)."""
    stale = []
    for model in models:
        for representation in representations:
            path = model.postprocessed_dir(representation)
            if os.path.isdir(path) and os.listdir(path) and not is_current(
                    model, path, postprocess_bindings(representation, gin_bindings)):
                stale.append(path)
    return stale


def existing_outputs(models: Sequence[TrainedModel], representations: Sequence[str],
                     metric_names: Sequence[str]) -> list[str]:
    """Metric output folders that exist and are not empty."""
    return [path for model in models for rep in representations for name in metric_names
            if os.path.isdir(path := model.metric_dir(rep, name)) and os.listdir(path)]


def evaluate_model(model_dir: str, metric_configs: Sequence[str],
                   gin_bindings: Sequence[str] = (),
                   representations: Sequence[str] = ("mean", "sampled"),
                   overwrite: bool = False, model_subdir: Optional[str] = None) -> list[str]:
    """Postprocesses and evaluates the trained model(s) of a run directory.

    Args:
      model_dir: the run directory (``rpu_train --model_dir``), or its ``model/`` folder.
      metric_configs: metric gin files and/or study lists (``gin_configs/metrics/study.txt``).
      gin_bindings: applied after each config, in postprocessing and evaluation
        (e.g. ``mig.num_train = 1000``).
      representations: postprocessings to evaluate (``mean``, ``sampled``).
      overwrite: replace existing outputs.
      model_subdir: evaluate every folder matching this glob below ``model_dir`` that holds
        a trained model (e.g. every metaEpoch's best replica) instead of the run's own.

    Returns:
      The ``results/aggregate/evaluation.json`` files written.

    Raises:
      NotATrainedModelError, FileNotFoundError, FileExistsError, ValueError,
      UnknownMetricError: with a message saying what to change; nothing is written if the
      inputs are wrong or an output exists without ``overwrite``.
    """
    configs = expand_metric_configs(metric_configs)
    if not representations:
        raise ValueError("Give at least one representation (mean, sampled).")
    for representation in representations:
        postprocess_bindings(representation)  # validates the name
    models = find_models(model_dir, model_subdir)
    if not overwrite:
        existing = existing_outputs(models, representations, [c.name for c in configs])
        if existing:
            raise FileExistsError(
                f"Evaluation output already exists: {', '.join(existing)}; pass --overwrite "
                "to replace it.")
        stale = stale_representations(models, representations, gin_bindings)
        if stale:
            raise FileExistsError(_stale_message(stale))
    for config in configs:  # unknown metrics and gin errors surface before any work
        try:
            parse_metric_config([config.path], list(gin_bindings))
        finally:
            gin.clear_config()
    written = []
    # With overwrite every new output is written beside its old one and all replace them at the
    # end, so a failing metric setting leaves the previous results as they were.
    with replaced_on_success() if overwrite else contextlib.nullcontext() as replacement:
        for model in models:
            for representation in representations:
                representation_dir = ensure_postprocessed(model, representation, gin_bindings, overwrite,
                                                          replacement)
                for config in configs:
                    output = model.metric_dir(representation, config.name)
                    logger.info("Computing %s on the %s representation of %s.", config.name,
                                representation, model.model_dir)
                    evaluate_with_gin(representation_dir, output if replacement is None else replacement.stage(output),
                                      False, [config.path], [f"evaluation.name = '{config.name}'"] + list(gin_bindings))
                    written.append(paths.step_aggregate_json(paths.results_dir(output), "evaluation"))
    return written
