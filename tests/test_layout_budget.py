"""Training-image accounting of run directories (the budget unit of fair comparisons)."""

import json
import os

from rpu_tf.layout.budget import pbt_training_images, run_training_images


def _pbt(folder, replicas, records):
    os.makedirs(folder)
    with open(os.path.join(folder, "pbt_config.json"), "w") as f:
        json.dump({"fingerprint": {"num_replicas": replicas}}, f)
    with open(os.path.join(folder, "generations.jsonl"), "w") as f:
        for steps, batch in records:
            f.write(json.dumps({"num_steps": steps, "hyperparameters": {"batch_size": batch}}) + "\n")


def test_every_replica_and_member_counts_at_its_own_batch_size(tmp_path):
    run = str(tmp_path)
    _pbt(os.path.join(run, "stages", "initial", "pbt"), 3, [(250, 64), (250, 32), (100, 64)])
    _pbt(os.path.join(run, "stages", "leaf1_meta1", "pbt"), 2, [(10, 8)])
    _pbt(os.path.join(run, "pbt"), 1, [(50, 64)])
    parts = run_training_images(run)
    assert parts == {"initial": 3 * (250 * 64 + 250 * 32 + 100 * 64), "leaf1_meta1": 2 * 80,
                     "final": 3200, "total": 3 * 30400 + 160 + 3200}


def test_a_single_pbt_run_and_an_untrained_one(tmp_path):
    _pbt(str(tmp_path / "pbt"), 5, [(4, 16)])
    assert run_training_images(str(tmp_path)) == {"pbt": 320, "total": 320}
    assert pbt_training_images(str(tmp_path / "missing")) == 0
