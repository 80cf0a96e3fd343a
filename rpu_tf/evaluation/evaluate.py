"""Evaluation: compute a disentanglement metric of a postprocessed representation.

disentanglement_lib's ``evaluate`` step with the same gin names (``evaluation.evaluation_fn
= @mig``, ``evaluation.random_seed``, ``evaluation.name``, ``dataset.name = "auto"``) and
output::

    output_dir/results/gin/evaluation.gin
    output_dir/results/json/evaluation_config.json     the operative config, values as gin strings
    output_dir/results/json/evaluation_results.json    the metric's dict + elapsed_time + uuid
    output_dir/results/aggregate/evaluation.json       train_*, postprocess_*, evaluation_* keys

plus the earlier steps' ``train_*``/``postprocess_*`` files, copied from the representation.
Metrics that take ``artifact_dir`` write into ``model_dir/artifacts/<evaluation.name>``.

One addition: numpy's global random state is seeded with ``evaluation.random_seed`` while
the metric runs (and restored afterwards), so metrics that draw on it (the scikit-learn
classifiers of DCI, SAP and the boosted-trees downstream task) give the same numbers every
time; disentanglement_lib leaves it unseeded.
"""

from __future__ import annotations

import inspect
import logging
import os
import time
from typing import Callable, Optional, Sequence

import gin
import numpy as np

from rpu_tf import metrics
from rpu_tf.data import named_data
from rpu_tf.evaluation import saved_models
from rpu_tf.evaluation.auto_dataset import resolve_auto_dataset
from rpu_tf.evaluation.ground_truth import seeded_global_numpy
from rpu_tf.evaluation.model_dirs import locate_representation, replaced_output
from rpu_tf.layout import paths
from rpu_tf.layout.results import update_result_directory
from rpu_tf.utils.gin_imports import GinImportRefusedError, imports_refused

logger = logging.getLogger(__name__)

#: Metrics a single model can be evaluated with: gin name (``evaluation.evaluation_fn =
#: @name``) -> function. UDR (several models) and the surrogate-label MIG (labels) are not
#: single-model evaluations.
METRICS: dict[str, Callable] = {
    "beta_vae_sklearn": metrics.compute_beta_vae_sklearn,
    "dci": metrics.compute_dci,
    "downstream_task": metrics.compute_downstream_task,
    "factor_vae_score": metrics.compute_factor_vae,
    "irs": metrics.compute_irs,
    "mig": metrics.compute_mig,
    "mig_gaps": metrics.compute_mig_gaps,
    "modularity_explicitness": metrics.compute_modularity_explicitness,
    "sap_score": metrics.compute_sap,
    "unsupervised_metrics": metrics.compute_unsupervised_metrics,
}


class UnknownMetricError(ValueError):
    """A metric config names an evaluation function that is not registered."""


def known_metrics() -> list[str]:
    return sorted(METRICS)


def _accepts(fn, kwarg: str) -> bool:
    """Whether ``fn`` (or the function gin wraps) takes ``kwarg`` or ``**kwargs``."""
    fn = getattr(fn, "__wrapped__", fn)
    spec = inspect.getfullargspec(fn)
    return kwarg in spec.args or kwarg in spec.kwonlyargs or spec.varkw is not None


@gin.configurable("evaluation", denylist=["model_dir", "output_dir", "overwrite"])
def evaluate(model_dir: str, output_dir: str, overwrite: bool = False,
             evaluation_fn=gin.REQUIRED, random_seed: int = gin.REQUIRED,
             name: str = "") -> dict:
    """Computes ``evaluation_fn`` on the representation in ``model_dir``.

    Args:
      model_dir: a postprocessed representation (``RUN/postprocessed/mean``).
      output_dir: where the results go (``RUN/metrics/mean/mig``).
      overwrite: replace an existing ``output_dir`` (once the new result is complete).
      evaluation_fn: the metric (``@mig``, ``@dci``, ... see :data:`METRICS`).
      random_seed: seeds the metric's ``random_state`` (and numpy's global state meanwhile).
      name: the metric's name (``'mig'``); names the artifact folder.

    Returns:
      The results written to ``evaluation_results.json``.
    """
    representation = locate_representation(model_dir)
    with replaced_output(output_dir, overwrite) as target:  # the old output stays until this succeeds
        start = time.time()
        resolve_auto_dataset(representation.postprocess_gin)
        dataset = named_data.get_named_ground_truth_data()
        representation_function = saved_models.representation_function(representation.saved_model)
        kwargs = {"random_state": np.random.RandomState(random_seed)}
        if _accepts(evaluation_fn, "artifact_dir"):
            kwargs["artifact_dir"] = os.path.join(model_dir, paths.ARTIFACTS_DIR, name)
        with seeded_global_numpy(random_seed):
            results = dict(evaluation_fn(dataset, representation_function, **kwargs))
        results["elapsed_time"] = time.time() - start
        update_result_directory(paths.results_dir(target), "evaluation", results, representation.results_dir)
    logger.info("Evaluated %s with %s in %.1fs: %s", model_dir, name or evaluation_fn,
                results["elapsed_time"], _summary(results))
    return results


def _summary(results: dict) -> str:
    scalars = [(k, v) for k, v in results.items()
               if isinstance(v, (int, float)) and k not in ("elapsed_time",)]
    return ", ".join(f"{k}={v:.4g}" for k, v in scalars[:4]) or "no scalar results"


def evaluation_fn_name(gin_config_files: Sequence[str]) -> Optional[str]:
    """The ``evaluation.evaluation_fn = @name`` a set of gin files binds (last one wins)."""
    found = None
    for path in gin_config_files:
        with open(path, encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition("=")
                if key.strip() == "evaluation.evaluation_fn" and value.strip().startswith("@"):
                    found = value.strip()[1:].split("#", 1)[0].strip()
    return found


def parse_metric_config(gin_config_files: Sequence[str], gin_bindings: Sequence[str]) -> None:
    """Parses gin files and bindings; an unknown metric raises :class:`UnknownMetricError`
    listing the known ones."""
    try:
        with imports_refused():  # no code from the configs' import lines
            gin.parse_config_files_and_bindings(list(gin_config_files), list(gin_bindings))
    except GinImportRefusedError:
        raise
    except ValueError as error:
        fn = evaluation_fn_name(gin_config_files)
        for binding in gin_bindings:
            key, _, value = binding.partition("=")
            if key.strip() == "evaluation.evaluation_fn":
                fn = value.strip().lstrip("@")
        message = str(error)
        if fn and "No configurable matching" in message and (
                f"'{fn}'" in message or f"'@{fn}'" in message):
            raise UnknownMetricError(
                f"Unknown metric {fn!r} (evaluation.evaluation_fn = @{fn}) in "
                f"{', '.join(gin_config_files) or 'the bindings'}; known metrics: "
                f"{', '.join(known_metrics())}.") from None
        if "Ambiguous selector" in str(error):
            raise ValueError(
                f"{error}\nAnother library registered the same gin names in this process "
                "(disentanglement_lib's metric modules do); evaluate in a fresh process or "
                "use full names (@rpu_tf.metrics.mig.mig).") from None
        raise


def evaluate_with_gin(model_dir: str, output_dir: str, overwrite: bool = False,
                      gin_config_files: Optional[Sequence[str]] = None,
                      gin_bindings: Optional[Sequence[str]] = None) -> dict:
    """Parses gin files and bindings, runs :func:`evaluate`, clears the gin config.

    ``model_dir`` is a postprocessed representation, as in disentanglement_lib; to evaluate
    a trained model (postprocessing included) use :func:`rpu_tf.evaluation.evaluate_model`.
    """
    try:
        parse_metric_config(list(gin_config_files or []), list(gin_bindings or []))
        return evaluate(model_dir, output_dir, overwrite)
    finally:
        gin.clear_config()
