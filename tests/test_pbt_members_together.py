"""Members together: a PBT generation's members trained in one joint step get the results they
get one after another; a failing member fails alone."""

import os
import threading
import time

import numpy as np
import pytest

from rpu_tf.pbt import read_generation_log
from rpu_tf.pbt.executors import LocalExecutor
from rpu_tf.pipelines.pbt_vae import pbt_vae_with_gin
from rpu_tf.training import NonFiniteLossError, ReplicaGroup
from rpu_tf.training.joint_training import JointTrainer
from tests.helpers.training_helpers import BlobData, NaNAfter, fc_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = os.path.join(ROOT, "gin_configs", "pbt", "pbt_s_vae_mig_small.gin")
TINY = ["sprites.image_size = 32", "sprites.num_scales = 2", "sprites.num_orientations = 2",
        "sprites.num_positions_x = 4", "sprites.num_positions_y = 4", "pbt.population_size = 3",
        "pbt_vae.generation_images = 96", "pbt_stopping.max_generations = 2", "mig_score.num_train = 200",
        "encoder.num_latent = 4", "batch_size_choices.low_exponent = 4", "batch_size_choices.high_exponent = 4"]


def _group(data, seed, lr=1e-3):
    group = ReplicaGroup(fc_model(), data, num_replicas=2, batch_size=8, random_seed=seed)
    group.set_hyperparameters(learning_rate=lr)
    return group


def _weights(group):
    return [w for m in group.models for w in m.get_weights()]


def test_joint_training_equals_each_group_alone_and_a_failure_stays_with_its_group():
    alone = [_group(BlobData(size=16), 1), _group(BlobData(size=16), 2, lr=3e-3), _group(NaNAfter(2, size=16), 3)]
    metrics = [alone[0].train(4, seed=10), alone[1].train(4, seed=11)]
    with pytest.raises(NonFiniteLossError):
        alone[2].train(4, seed=12)
    joint = [_group(BlobData(size=16), 1), _group(BlobData(size=16), 2, lr=3e-3), _group(NaNAfter(2, size=16), 3)]
    outcomes = JointTrainer(joint).train(4, [10, 11, 12])
    assert isinstance(outcomes[2], NonFiniteLossError) and joint[2].step == alone[2].step == 1  # 2nd batch NaN
    for m in range(2):
        for key in ("loss", "kl_loss", "global_step"):
            assert outcomes[m][key] == pytest.approx(metrics[m][key], rel=1e-6), key
        for a, b in zip(_weights(alone[m]), _weights(joint[m])):
            np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    assert all(np.array_equal(a, b) for a, b in zip(_weights(alone[2]), _weights(joint[2])))
    with pytest.raises(ValueError, match="one batch size"):
        joint[0].set_hyperparameters(batch_size=16)
        JointTrainer(joint).train(1, [None] * 3)


class _OneReaderAtATime(BlobData):
    """Blob data that records whether two threads ever read it at once."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lock, self.overlapped = threading.Lock(), False

    def sample_observations(self, num, random_state):
        if not self.lock.acquire(blocking=False):
            self.overlapped = True
            self.lock.acquire()
        try:
            time.sleep(0.002)
            return super().sample_observations(num, random_state)
        finally:
            self.lock.release()


def test_groups_trained_together_never_read_their_shared_data_set_at_once():
    data = _OneReaderAtATime(size=16)  # as the members of a PBT stage share one data set
    outcomes = JointTrainer([_group(data, 1), _group(data, 2)]).train(6, [1, 2])
    assert all(isinstance(o, dict) for o in outcomes) and not data.overlapped


def test_local_executor_checks_members_together():
    with pytest.raises(ValueError, match="members_together must be a positive integer"):
        LocalExecutor(lambda: None, members_together=0)


@pytest.mark.slow
@pytest.mark.usefixtures("clean_gin")
def test_a_pbt_run_with_members_together_logs_the_same_generations(tmp_path, monkeypatch):
    from rpu_tf.pbt import executors

    joint_steps = []
    together_fn = executors.run_member_steps_together
    monkeypatch.setattr(executors, "run_member_steps_together",
                        lambda slots, tasks: joint_steps.append(len(tasks)) or together_fn(slots, tasks))
    logs = []
    for together in (1, 2):
        run_dir = str(tmp_path / f"together_{together}")
        pbt_vae_with_gin(run_dir, False, [SMALL], TINY + [f"local_executor.members_together = {together}"])
        logs.append(sorted(read_generation_log(os.path.join(run_dir, "pbt")),
                           key=lambda r: (r["generation"], r["member_id"])))
    assert joint_steps == [2, 2]  # per generation 2 of the 3 members together (one batch size)
    assert len(logs[0]) == len(logs[1]) == 6
    for one, two in zip(*logs):
        assert (one["member_id"], one["generation"], one["parent"]) == (two["member_id"], two["generation"],
                                                                       two["parent"])
        assert one["hyperparameters"] == two["hyperparameters"]
        assert two["score"] == pytest.approx(one["score"], abs=1e-6)
