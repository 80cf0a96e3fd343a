"""Runtime settings: thread-pool policy, gin options, data-stream errors."""

import gin
import numpy as np
import pytest

from rpu_tf.training import runtime
from rpu_tf.training.data_stream import ReplicaBatchStream
from tests.helpers.training_helpers import BlobData


@pytest.mark.parametrize("replicas,cores,expected", [
    (1, 2, (2, 2)), (5, 2, (1, 2)), (1, 1, (1, 1)), (5, 1, (1, 1)), (5, 16, (3, 5)),
    (1, 16, (16, 2)), (32, 16, (1, 16)),
])
def test_auto_threads(replicas, cores, expected):
    assert runtime.auto_threads(replicas, cores) == expected


def test_runtime_options_from_gin():
    gin.clear_config()
    try:
        gin.parse_config("training.intra_op_threads = 1\ntraining.jit_compile = True")
        options = runtime.runtime_options()
        assert options == runtime.RuntimeOptions(intra_op_threads=1, jit_compile=True)
        gin.parse_config("training.inter_op_threads = -1")
        with pytest.raises(ValueError, match="inter_op_threads must be >= 0"):
            runtime.runtime_options()
    finally:
        gin.clear_config()


def test_model_batching_from_gin_is_the_runs_default_and_does_not_outlive_it():
    from rpu_tf.training import model_batching

    gin.clear_config()
    try:
        gin.parse_config('training.model_batching = "batched"')
        options = runtime.runtime_options()
        assert options.model_batching == "batched"
        with runtime.defaults_kept():
            runtime.configure(1, options)
            assert model_batching.default_model_batching() == "batched"
        assert model_batching.default_model_batching() == "auto"
        gin.parse_config('training.model_batching = "stacked"')
        with pytest.raises(ValueError, match="Unknown training.model_batching 'stacked'; known: auto, batched"):
            runtime.runtime_options()
    finally:
        gin.clear_config()


class _WrongShape(BlobData):
    def sample_observations(self, num, random_state):
        return np.zeros((num, 8, 8, 1), np.float32)


def test_data_stream_errors_reach_the_consumer():
    stream = ReplicaBatchStream(_WrongShape(size=16), seeds=[1, 2])
    with pytest.raises(ValueError, match=r"returned shape \(4, 8, 8, 1\), expected \(4, 16, 16, 1\)"):
        with stream.prefetch(4, 3) as batches:
            list(batches)


def test_prefetched_batches_equal_direct_batches():
    a = ReplicaBatchStream(BlobData(size=16), seeds=[3, 4])
    b = ReplicaBatchStream(BlobData(size=16), seeds=[3, 4])
    with a.prefetch(5, 4) as batches:
        prefetched = [x.numpy() for (x,) in batches]
    direct = [b.next_batch(5) for _ in range(4)]
    assert len(prefetched) == 4
    assert all(np.array_equal(p, d) for p, d in zip(prefetched, direct))
    assert all(np.array_equal(s1[1], s2[1]) for s1, s2 in zip(a.get_state(), b.get_state()))
