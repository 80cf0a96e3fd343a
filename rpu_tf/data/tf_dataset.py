"""Data sets as ``tf.data`` pipelines for Keras (``model.fit``) and disentanglement_lib code.

TensorFlow is imported when one of these functions is called, not when ``rpu_tf.data`` is
imported (the package stays importable without loading TensorFlow).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from rpu_tf.data.ground_truth_data import GroundTruthData


def as_tf_dataset(data: GroundTruthData, batch_size: int, seed: int = 0, num_batches: Optional[int] = None):
    """Batches of observations drawn uniformly at random (with replacement) from ``data``.

    Args:
      data: any data set with ``sample_observations`` (ground truth or unlabelled).
      batch_size: images per batch.
      seed: seeds the draws (``np.random.RandomState(seed)``): the same seed, the same batches.
      num_batches: how many batches; None: endless (give ``model.fit`` ``steps_per_epoch``).

    Returns:
      A ``tf.data.Dataset`` of float32 ``(batch_size,) + observation_shape`` tensors, e.g.
      ``model.fit(as_tf_dataset(data, 64), steps_per_epoch=1000)`` for a model of
      :mod:`rpu_tf.models` (its ``train_step`` trains the VAE objective).
    """
    import tensorflow as tf

    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if num_batches is not None and int(num_batches) < 0:
        raise ValueError(f"num_batches must be >= 0 or None, got {num_batches}.")
    shape = tuple(int(s) for s in data.observation_shape)

    def batches():
        random_state = np.random.RandomState(seed)
        count = 0
        while num_batches is None or count < int(num_batches):
            yield np.asarray(data.sample_observations(batch_size, random_state), dtype=np.float32)
            count += 1

    spec = tf.TensorSpec((batch_size,) + shape, tf.float32)
    return tf.data.Dataset.from_generator(batches, output_signature=spec).prefetch(2)


def tf_data_set_from_ground_truth_data(ground_truth_data: GroundTruthData, random_seed: int):
    """disentanglement_lib's ``tf_data_set_from_ground_truth_data``: an endless
    ``tf.data.Dataset`` of single float32 observations drawn with ``RandomState(random_seed)``
    (batch it yourself)."""
    import tensorflow as tf

    shape = tuple(int(s) for s in ground_truth_data.observation_shape)

    def observations():
        random_state = np.random.RandomState(random_seed)
        while True:
            yield np.asarray(ground_truth_data.sample_observations(1, random_state)[0], dtype=np.float32)

    return tf.data.Dataset.from_generator(observations, output_signature=tf.TensorSpec(shape, tf.float32))
