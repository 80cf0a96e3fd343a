"""UDR model selection (disentanglement_lib's UDR study) over a study's trained models.

For each candidate method and seed, the model's UDR is its score among the method's models
of all seeds (same hyperparameters, different seeds: :func:`rpu_tf.metrics.udr.compute_udr_sklearn`,
Lasso, the paper's 1000 points in batches of 10). Per seed, the candidate with the highest
UDR is the selected model; selecting it cost the training images of every candidate of that
seed. Results are cached in ``STUDY_DIR/selection.json``.
"""

from __future__ import annotations

import logging
import os
from typing import Mapping

import numpy as np

from rpu_tf.layout import paths
from rpu_tf.metrics.udr import compute_udr_sklearn
from rpu_tf.training.export import load_keras
from rpu_tf.training.representation import udr_representation_function
from rpu_tf.utils.files import atomic_write_json, read_json
from rpu_tf.visualize.model import training_dataset

logger = logging.getLogger(__name__)

SELECTION_FILE = "selection.json"


def run_data(run_dir: str):
    """The data set a run trained on (the data bindings of its ``train.gin``)."""
    return training_dataset(paths.step_gin(paths.results_dir(os.path.join(run_dir, paths.MODEL_DIR)), "train"))


def method_udr(run_dirs: Mapping[int, str], num_data_points: int = 1000, batch_size: int = 10,
               seed: int = 0) -> dict[int, float]:
    """``{seed: UDR}`` of one method's models (one per seed, same hyperparameters)."""
    seeds = sorted(run_dirs)
    if len(seeds) < 2:
        raise ValueError("UDR needs the models of at least two seeds of a method.")
    data = run_data(run_dirs[seeds[0]])
    functions = [udr_representation_function(load_keras(os.path.join(run_dirs[s], paths.MODEL_DIR,
                                                                      paths.KERAS_FILE))) for s in seeds]
    result = compute_udr_sklearn(data, functions, np.random.RandomState(seed), batch_size=batch_size,
                                 num_data_points=num_data_points, include_raw_correlations=False)
    return {s: float(v) for s, v in zip(seeds, result["model_scores"])}


def udr_selection(study_dir: str, name: str, candidates: Mapping[str, Mapping[int, str]]) -> dict:
    """Selects, per seed, the candidate with the best UDR; cached under ``name``.

    Args:
      study_dir: the study folder (``selection.json`` lives there).
      name: the selection method's name.
      candidates: ``{method name: {seed: run_dir}}``, every method with the same seeds.

    Returns:
      ``{"udr": {method: {seed: score}}, "chosen": {seed: method}}`` (seeds as strings).
    """
    path = os.path.join(study_dir, SELECTION_FILE)
    cache = read_json(path) if os.path.exists(path) else {}
    seeds_wanted = sorted({str(s) for runs in candidates.values() for s in runs}, key=int)
    if name in cache and set(cache[name].get("udr", {})) == set(candidates) and sorted(
            cache[name].get("chosen", {}), key=int) == seeds_wanted:
        return cache[name]
    scores = {}
    for method, runs in candidates.items():
        logger.info("UDR selection %s: UDR of %s over seeds %s.", name, method, sorted(runs))
        scores[method] = {str(s): v for s, v in method_udr(runs).items()}
    seeds = sorted({s for per_seed in scores.values() for s in per_seed}, key=int)
    chosen = {s: max(scores, key=lambda m: (scores[m].get(s, -np.inf), m)) for s in seeds}
    cache[name] = {"udr": scores, "chosen": chosen}
    atomic_write_json(path, cache)
    return cache[name]
