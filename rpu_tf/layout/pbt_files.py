"""The files of a PBT run folder that more than the controller reads (no TensorFlow)."""

from __future__ import annotations

import json
import os

from rpu_tf.layout import paths


def read_generation_log(run_dir: str) -> list[dict]:
    """The records of ``generations.jsonl`` (one dict per member per generation)."""
    path = os.path.join(run_dir, paths.GENERATIONS_FILE)
    with open(path, encoding="utf-8") as f:
        return [json.loads(ln) for ln in f if ln.strip()]
