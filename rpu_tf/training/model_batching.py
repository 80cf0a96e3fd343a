"""How a replica group computes its K models: as one batched network or as K sub-graphs.

``training.model_batching`` (gin) is one of :data:`CHOICES`:

- ``"batched"``: each layer runs once for all K models, weights stacked along a leading
  model axis (:mod:`rpu_tf.models.batched`: grouped convolutions, batched matmuls). One
  kernel per layer instead of K: what a GPU needs for many small VAEs.
- ``"replicas"``: K independent sub-graphs in one step, which TensorFlow runs concurrently
  (the only way before this setting existed).
- ``"auto"`` (default): ``"batched"`` where a GPU is visible, else ``"replicas"``. On the
  2-core CPU measured (Intel Xeon with AMX, batch 64, K = 6 at 32 x 32 and K = 5 at 64 x 64),
  the batched group trains at 0.61-0.80x the images/s of the K sub-graphs: oneDNN's grouped
  convolutions are no faster than K separate ones (docs/results.md, "Training speed").

Both compute the same function (same losses, gradients and updates within float rounding),
so a run may resume with the other choice. Groups of one model, and models whose layers
:func:`rpu_tf.models.batched.can_batch` does not cover, use ``"replicas"``.
"""

from __future__ import annotations

import tensorflow as tf

CHOICES = ("auto", "batched", "replicas")
_default = "auto"


def check_model_batching(value: str) -> str:
    """``value`` if it is one of :data:`CHOICES`, else a ``ValueError`` naming them."""
    if value not in CHOICES:
        raise ValueError(f"Unknown training.model_batching {value!r}; known: {', '.join(CHOICES)}.")
    return value


def set_default_model_batching(value: str) -> str:
    """Sets what replica groups use when not told (the pipelines set it from gin)."""
    global _default
    _default = check_model_batching(value)
    return _default


def default_model_batching() -> str:
    """What replica groups use when not told (``"auto"`` until set)."""
    return _default


def resolve_model_batching(value: str, num_models: int, supported: bool = True) -> bool:
    """Whether a group of ``num_models`` computes batched under ``value`` on this machine
    (``supported``: :func:`rpu_tf.models.batched.can_batch` of its models)."""
    check_model_batching(value)
    if num_models < 2 or not supported or value == "replicas":
        return False
    if value == "batched":
        return True
    return bool(tf.config.list_physical_devices("GPU"))
