"""The VAE's distributions as TensorFlow Probability objects, TFP imported on first use.

``tensorflow_probability`` takes about 1 s to import on 2 cores (it loads tf_keras for its
layers), so it is imported when a loss is first computed, not with ``rpu_tf.models``; inside a
compiled training step that is once, at tracing. Every parameter is a float tensor (float32
in the models, also under mixed precision: codes and logits are cast to float32 first).
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import TYPE_CHECKING, Optional

import tensorflow as tf

if TYPE_CHECKING:
    import tensorflow_probability as tfp


@functools.cache
def tfd() -> ModuleType:
    """``tensorflow_probability.distributions``."""
    import tensorflow_probability as tfp

    return tfp.distributions


def gaussian(mean: tf.Tensor, log_var: tf.Tensor) -> "tfp.distributions.Normal":
    """``tfd.Normal`` with ``loc = mean`` and ``scale = exp(log_var / 2)`` (the encoder's
    posterior q(z|x) for codes ``(batch, num_latent)``; any broadcastable shapes)."""
    return tfd().Normal(loc=mean, scale=tf.exp(0.5 * log_var))


def unit_gaussian(dtype: tf.DType = tf.float32) -> "tfp.distributions.Normal":
    """The prior N(0, 1) of every latent, scalar ``tfd.Normal`` of ``dtype``."""
    return tfd().Normal(loc=tf.zeros([], dtype), scale=tf.ones([], dtype))


def bernoulli(logits: Optional[tf.Tensor] = None,
              probs: Optional[tf.Tensor] = None) -> "tfp.distributions.Bernoulli":
    """``tfd.Bernoulli`` of pixel ``logits`` or ``probs``, float events (grey values in [0, 1]
    give the cross-entropy, as disentanglement_lib's Bernoulli loss does)."""
    if (logits is None) == (probs is None):
        raise ValueError("bernoulli() takes exactly one of logits and probs.")
    return tfd().Bernoulli(logits=logits, probs=probs, dtype=(logits if probs is None else probs).dtype)
