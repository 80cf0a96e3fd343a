"""The precision a run directory trained in, whatever its state (finished, stopped, started).

Every replica-group state records the precision it trained in (its model config), and so do
a finished run's train results. :func:`run_precision` reads it from what a single-model,
PBT-VAE or rPU-VAE run directory holds, so a resume can keep it
(:func:`~rpu_tf.training.precision.check_resume_precision`) even for runs written before
manifests and studies recorded it.
"""

from __future__ import annotations

import glob
import os
from typing import Optional

from rpu_tf.layout import paths
from rpu_tf.training import checkpoints
from rpu_tf.training.replica_state import read_state_precision
from rpu_tf.utils.files import read_json
from rpu_tf.utils.state_files import CorruptCheckpointError


def pbt_precision(pbt_dir: str) -> Optional[str]:
    """The precision of the newest readable member checkpoint in the PBT folder ``pbt_dir``
    (None: no readable checkpoint, or one written before states recorded it)."""
    for _, folder in sorted(paths.checkpoint_generation_dirs(pbt_dir).items(), reverse=True):
        for name in sorted(os.listdir(folder), reverse=True):
            if not name.endswith(".npz"):
                continue
            try:
                return read_state_precision(os.path.join(folder, name))
            except CorruptCheckpointError:
                continue  # the controller recomputes it; an older one still tells
    return None


def _recorded_precision(path: str) -> Optional[str]:
    """The ``precision`` entry of the JSON file ``path`` (None: no file, unreadable, no entry)."""
    if not os.path.isfile(path):
        return None
    try:
        precision = read_json(path).get("precision")
    except (OSError, ValueError, AttributeError):
        return None
    return str(precision) if precision else None


def run_precision(run_dir: str) -> Optional[str]:
    """The precision the run in ``run_dir`` trained in, from (in this order) its train results,
    an rPU-VAE manifest's record, a single model's checkpoint, its PBT checkpoints or those of
    its rPU-VAE stages; None where it has trained nothing that says."""
    results = paths.step_results_json(paths.results_dir(os.path.join(run_dir, paths.MODEL_DIR)), "train")
    for recorded in (results, os.path.join(run_dir, paths.MANIFEST_FILE)):
        precision = _recorded_precision(recorded)
        if precision:
            return precision
    state = checkpoints.state_file(run_dir)
    if os.path.isfile(state):
        try:
            precision = read_state_precision(state)
        except CorruptCheckpointError:
            precision = None
        if precision:
            return precision
    for pbt_dir in [os.path.join(run_dir, paths.PBT_DIR)] + sorted(
            glob.glob(os.path.join(run_dir, paths.STAGES_DIR, "*", paths.PBT_DIR))):
        precision = pbt_precision(pbt_dir)
        if precision:
            return precision
    return None


__all__ = ["pbt_precision", "run_precision"]
