"""Which precision a run trained in, read from what it left on disk (rpu_tf.rpu.run_precision)."""

import json
import os

import numpy as np

from rpu_tf.layout import paths
from rpu_tf.rpu import pbt_precision, run_precision


def _member_state(pbt_dir: str, generation: int, member: int, precision=None, corrupt: bool = False) -> str:
    path = paths.checkpoint_file(pbt_dir, generation, member)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if corrupt:  # a checkpoint cut off mid-write
        with open(path, "wb") as f:
            f.write(b"PK\x03\x04 not a whole zip")
        return path
    model_config = {"num_latent": 10} if precision is None else {"num_latent": 10, "precision": precision}
    np.savez(path, config=np.asarray(json.dumps({"format": 1, "model_config": model_config})))
    return path


def test_pbt_precision_reads_the_newest_readable_checkpoint(tmp_path):
    pbt_dir = str(tmp_path / "pbt")
    assert pbt_precision(pbt_dir) is None  # nothing trained
    _member_state(pbt_dir, 9, 0, "float32")
    assert pbt_precision(pbt_dir) == "float32"
    # generation 10 is newer than 9 (numbers, not names, are compared)
    _member_state(pbt_dir, 10, 0, "mixed_bfloat16")
    assert pbt_precision(pbt_dir) == "mixed_bfloat16"
    # a corrupt newest checkpoint is skipped: the next readable one still tells
    _member_state(pbt_dir, 11, 0, corrupt=True)
    assert pbt_precision(pbt_dir) == "mixed_bfloat16"
    _member_state(pbt_dir, 10, 1, corrupt=True)
    assert pbt_precision(pbt_dir) == "mixed_bfloat16"  # member 0 of generation 10 is readable


def test_pbt_precision_of_states_written_before_they_recorded_it_is_unknown(tmp_path):
    pbt_dir = str(tmp_path / "pbt")
    _member_state(pbt_dir, 1, 0)
    assert pbt_precision(pbt_dir) is None


def test_run_precision_prefers_the_run_records_over_checkpoints(tmp_path):
    run_dir = str(tmp_path / "run")
    os.makedirs(run_dir)
    assert run_precision(run_dir) is None
    with open(os.path.join(run_dir, paths.MANIFEST_FILE), "w") as f:
        json.dump({"precision": "float32"}, f)
    assert run_precision(run_dir) == "float32"
    results = paths.step_results_json(paths.results_dir(os.path.join(run_dir, paths.MODEL_DIR)), "train")
    os.makedirs(os.path.dirname(results), exist_ok=True)
    with open(results, "w") as f:
        json.dump({"precision": "mixed_bfloat16"}, f)
    assert run_precision(run_dir) == "mixed_bfloat16"  # the train results come first
