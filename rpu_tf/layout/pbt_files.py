"""The files of a PBT run folder that more than the controller reads (no TensorFlow)."""

from __future__ import annotations

import os

from rpu_tf.layout import paths
from rpu_tf.utils.files import damaged, read_json_lines


def read_generation_log(run_dir: str) -> list[dict]:
    """The records of ``generations.jsonl`` (one dict per member per generation)."""
    path = os.path.join(run_dir, paths.GENERATIONS_FILE)
    records = read_json_lines(path)
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict):
            raise damaged(path, f"record {number} is not a generation record (a JSON object)")
    return records
