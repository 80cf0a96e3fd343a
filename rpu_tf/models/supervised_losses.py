"""Supervised loss terms on the codes of labelled images (semi-supervised VAEs).

As in disentanglement_lib's semi-supervised methods (Locatello et al. 2020, "Disentangling
factors of variation using few labels"): the VAE objective gains
``weight * supervised_loss(codes, targets)``, where ``codes`` are the means of q(z|x) of a
batch of labelled images at the supervised latents (one latent per label column).

Labels may be partial: ``mask[i, c] = 1`` where image ``i`` has a label in column ``c``
(rPU-VAE's surrogate labels cover different images per metaEpoch). Every loss is the sum
over columns of the masked mean over the batch, so its size does not depend on the
labelled batch size (disentanglement_lib sums over the labelled batch instead; scale the
weight by that batch size to compare).

- ``xent``: sigmoid cross-entropy of the codes (logits) against targets in [0, 1]
  (disentanglement_lib's ``xent``; targets: factor value / number of values);
- ``l2``: squared error of the codes against real targets (disentanglement_lib's ``l2`` with
  a fixed scale of 1; targets: e.g. standardised surrogate codes).
"""

from __future__ import annotations

import tensorflow as tf

#: The supervised losses by name (see the module docstring).
SUPERVISED_LOSSES = ("xent", "l2")


def check_supervised_loss(name: str) -> str:
    """``name`` if it is a known supervised loss, else a ``ValueError`` naming the choices."""
    if name not in SUPERVISED_LOSSES:
        raise ValueError(f"Unknown supervised loss {name!r}; choose one of {', '.join(SUPERVISED_LOSSES)}.")
    return name


def supervised_loss(name: str, codes: tf.Tensor, targets: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Scalar loss of ``codes`` ``(B, C)`` against ``targets`` ``(B, C)`` where ``mask`` ``(B, C)``
    is 1 (float32 everywhere; a column without any label in the batch adds 0)."""
    check_supervised_loss(name)
    codes = tf.cast(codes, tf.float32)
    if name == "xent":
        per_label = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=codes)
    else:
        per_label = tf.square(codes - targets)
    counts = tf.reduce_sum(mask, axis=0)
    per_column = tf.reduce_sum(per_label * mask, axis=0) / tf.maximum(counts, 1.0)
    return tf.reduce_sum(per_column)
