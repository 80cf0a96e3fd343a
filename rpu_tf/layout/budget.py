"""How many training images a run consumed: the budget unit of fair comparisons.

Every image every replica of every member trained on counts: a PBT run's
``generations.jsonl`` records, per member and generation, ``num_steps`` at that member's
``hyperparameters.batch_size``, and ``pbt_config.json`` the replicas per member, so a run
consumed ``sum(num_steps * batch_size) * num_replicas`` images. An rPU-VAE run is the sum
over its stages' PBT runs and the final one. No TensorFlow.
"""

from __future__ import annotations

import glob
import os

from rpu_tf.layout import paths
from rpu_tf.layout.pbt_files import read_generation_log
from rpu_tf.utils.files import read_json


def pbt_training_images(pbt_dir: str) -> int:
    """Training images of one PBT run folder (0 when it has not trained yet)."""
    if not os.path.exists(os.path.join(pbt_dir, paths.GENERATIONS_FILE)):
        return 0
    config = read_json(os.path.join(pbt_dir, paths.PBT_CONFIG_FILE))
    replicas = int(config.get("fingerprint", {}).get("num_replicas", 1))
    images = sum(int(r.get("num_steps", 0)) * int(r["hyperparameters"]["batch_size"])
                 for r in read_generation_log(pbt_dir))
    return images * replicas


def run_training_images(run_dir: str) -> dict[str, int]:
    """``{part: images}`` of a run directory: ``stages/<stage>`` for each metaEpoch, ``final``
    (or ``pbt``) for the run's own PBT, and ``total``."""
    parts = {}
    for stage in sorted(glob.glob(os.path.join(run_dir, paths.STAGES_DIR, "*", paths.PBT_DIR))):
        parts[os.path.basename(os.path.dirname(stage))] = pbt_training_images(stage)
    own = os.path.join(run_dir, paths.PBT_DIR)
    if os.path.isdir(own):
        parts["final" if parts else "pbt"] = pbt_training_images(own)
    parts["total"] = sum(parts.values())
    return parts
