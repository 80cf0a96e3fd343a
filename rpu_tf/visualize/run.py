"""Everything ``rpu_visualize`` draws for a run directory.

For ``RUN`` (an ``rpu_train`` run, a PBT run or an rPU-VAE run):

- the trained model's visualizations (:mod:`rpu_tf.visualize.model`) in
  ``RUN/visualizations/``, or with ``model_subdir`` those of every matching model folder
  (e.g. every metaEpoch's best replica) in ``<folder>/visualizations/``;
- the hyperparameter trajectories of every ``generations.jsonl`` below ``RUN`` (up to
  four folders deep)
  (:mod:`rpu_tf.visualize.pbt`) in ``RUN/visualizations/pbt/<folder>.png``, where
  ``<folder>`` is the log's folder relative to ``RUN`` with ``/`` written as ``__``
  (``pbt.png``, ``meta_epoch_1__pbt.png``; ``run.png`` for ``RUN/generations.jsonl``).
"""

from __future__ import annotations

import glob
import logging
import os
from typing import Optional, Sequence

from rpu_tf.evaluation.model_dirs import NotATrainedModelError, find_models
from rpu_tf.layout.paths import (GENERATIONS_FILE, MODEL_DIR, PBT_DIR, SAVED_MODEL_DIR, VISUALIZATIONS_DIR,
                                 step_gin)
from rpu_tf.layout.run_state import has_model
from rpu_tf.visualize.pbt import plot_pbt_trajectories, read_generations

logger = logging.getLogger(__name__)


#: How deep below a run directory PBT logs are looked for (``RUN/a/b/c/d/generations.jsonl``).
MAX_LOG_DEPTH = 4


def find_generation_logs(run_dir: str) -> list[str]:
    """Every ``generations.jsonl`` at most :data:`MAX_LOG_DEPTH` folders below ``run_dir``
    (not inside visualizations/), sorted."""
    found = []
    for depth in range(MAX_LOG_DEPTH + 1):
        found += glob.glob(os.path.join(run_dir, *(["*"] * depth), GENERATIONS_FILE))
    return sorted(p for p in found
                  if VISUALIZATIONS_DIR not in os.path.relpath(p, run_dir).split(os.sep))


def trajectory_name(log_path: str, run_dir: str) -> str:
    """File name of a log's trajectory figure (see the module docstring)."""
    folder = os.path.relpath(os.path.dirname(os.path.abspath(log_path)), os.path.abspath(run_dir))
    return ("run" if folder == "." else folder.replace(os.sep, "__")) + ".png"


def plot_generation_logs(logs: Sequence[str], output_dir: str, names: Sequence[str],
                         overwrite: bool = False) -> list[str]:
    """One trajectory figure per log, ``output_dir/<name>``; existing files need ``overwrite``."""
    targets = [os.path.join(output_dir, name) for name in names]
    existing = [t for t in targets if os.path.exists(t)]
    if existing and not overwrite:
        raise FileExistsError(f"{', '.join(existing)} already exist(s); pass --overwrite to "
                              "replace.")
    for log, target in zip(logs, targets):
        plot_pbt_trajectories(read_generations(log), target, title=log)
        logger.info("Wrote the PBT trajectories of %s to %s.", log, target)
    return targets


def visualize_run(run_dir: str, output_dir: Optional[str] = None, overwrite: bool = False,
                  model_subdir: Optional[str] = None, num_animations: int = 5,
                  num_frames: int = 20, fps: float = 10.0) -> list[str]:
    """Draws the model visualizations and PBT trajectories of ``run_dir``; returns the files.

    Args:
      output_dir: default ``RUN/visualizations`` (with ``model_subdir``: the models'
        figures go to ``output_dir/<model folder relative to RUN>``).

    Raises:
      NotATrainedModelError: ``run_dir`` holds neither a trained model nor a PBT log.
      FileExistsError: outputs exist and ``overwrite`` is False.
    """
    if not os.path.isdir(run_dir):
        raise NotATrainedModelError(f"--model_dir {run_dir} does not exist.")
    logs = find_generation_logs(run_dir)
    with_model = model_subdir is not None or has_model(run_dir)
    if not with_model and not logs:
        raise NotATrainedModelError(
            f"{run_dir} holds nothing to visualize: expected a trained model "
            f"({os.path.join(run_dir, MODEL_DIR, SAVED_MODEL_DIR)}/ and "
            f"{step_gin(os.path.join(run_dir, MODEL_DIR, 'results'), 'train')}, as rpu_train "
            f"writes them) or PBT logs ({GENERATIONS_FILE} below it).")
    written: list[str] = []
    if with_model:
        from rpu_tf.visualize.model import visualize  # TensorFlow: only when there is a model

        for model in find_models(run_dir, model_subdir):
            target = output_dir
            if output_dir is not None and model_subdir is not None:
                target = os.path.join(output_dir, os.path.relpath(model.run_dir, run_dir))
            files = visualize(model.run_dir, target, overwrite, num_animations=num_animations,
                              num_frames=num_frames, fps=fps)
            written += [f for paths in files.values() for f in paths]
    if logs:
        folder = os.path.join(output_dir or os.path.join(run_dir, VISUALIZATIONS_DIR), PBT_DIR)
        written += plot_generation_logs(logs, folder, [trajectory_name(p, run_dir) for p in logs],
                                        overwrite)
    return written
