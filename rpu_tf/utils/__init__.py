"""Small shared utilities (no TensorFlow)."""

from rpu_tf.utils.progress import progress

__all__ = ["progress"]
