"""Reconstruction losses and Gaussian densities, with disentanglement_lib's semantics.

Gin names as in disentanglement_lib: ``reconstruction_loss.loss_fn`` selects
``@bernoulli_loss`` or ``@l2_loss``; ``reconstruction_loss.activation`` is ``"logits"``
(default) or ``"tanh"``; ``bernoulli_loss.subtract_true_image_entropy`` (default False).

All per-sample losses take ``true_images`` (float32 in [0, 1], shape ``(batch,) +
observation_shape``) and ``reconstructed_images`` (decoder outputs before the activation,
same shape) and return a ``(batch,)`` tensor in nats (sum over pixels, not mean).

The Gaussian log density and the Bernoulli likelihood and entropy are TensorFlow Probability's
(:mod:`rpu_tf.models.distributions`); ``l2_loss`` is disentanglement_lib's plain squared error
(no variance, no normalising constant), not a Gaussian log likelihood, so it stays tf.math.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import gin
import tensorflow as tf

from rpu_tf.models import distributions

_ACTIVATIONS = ("logits", "tanh")
_ENTROPY_CLIP = 1e-6


def gaussian_log_density(samples: tf.Tensor, mean: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """Elementwise log N(samples; mean, exp(log_var)) in nats; arguments broadcast."""
    return distributions.gaussian(mean, log_var).log_prob(samples)


def bernoulli_entropy(probs: tf.Tensor) -> tf.Tensor:
    """Elementwise entropy (nats) of Bernoulli(probs), probs clipped to [1e-6, 1 - 1e-6]."""
    p = tf.clip_by_value(probs, _ENTROPY_CLIP, 1.0 - _ENTROPY_CLIP)
    return distributions.bernoulli(probs=p).entropy()


def _flatten(images: tf.Tensor) -> tf.Tensor:
    return tf.reshape(images, [tf.shape(images)[0], -1])


def _check_activation(activation: str) -> None:
    if activation not in _ACTIVATIONS:
        raise ValueError(
            f"Unknown reconstruction activation {activation!r}; known: {', '.join(_ACTIVATIONS)}."
        )


def bernoulli_loss(true_images: tf.Tensor, reconstructed_images: tf.Tensor,
                   activation: str = "logits",
                   subtract_true_image_entropy: bool = False) -> tf.Tensor:
    """Bernoulli negative log-likelihood per sample, shape ``(batch,)``.

    With ``activation="logits"`` this is the sigmoid cross-entropy summed over pixels; with
    ``"tanh"`` the decoder output is mapped by ``tanh(x)/2 + 1/2`` and clipped to
    [1e-6, 1 - 1e-6]. ``subtract_true_image_entropy`` subtracts the entropy of the (non-binary)
    true images, the loss's lower bound, so a perfect reconstruction scores about 0.
    """
    _check_activation(activation)
    true_flat = _flatten(true_images)
    recon_flat = _flatten(reconstructed_images)
    if activation == "logits":
        likelihood = distributions.bernoulli(logits=recon_flat)
    else:
        likelihood = distributions.bernoulli(
            probs=tf.clip_by_value(tf.nn.tanh(recon_flat) / 2 + 0.5, 1e-6, 1 - 1e-6))
    loss = -tf.reduce_sum(likelihood.log_prob(true_flat), axis=1)
    if subtract_true_image_entropy:
        loss = loss - tf.reduce_sum(bernoulli_entropy(true_flat), axis=1)
    return loss


def l2_loss(true_images: tf.Tensor, reconstructed_images: tf.Tensor,
            activation: str = "logits") -> tf.Tensor:
    """Squared error per sample between the images and sigmoid (or tanh) of the output."""
    _check_activation(activation)
    if activation == "logits":
        recon = tf.nn.sigmoid(reconstructed_images)
    else:
        recon = tf.nn.tanh(reconstructed_images) / 2 + 0.5
    return tf.reduce_sum(tf.square(_flatten(true_images) - _flatten(recon)), axis=1)


RECONSTRUCTION_LOSSES: dict[str, Callable[..., tf.Tensor]] = {
    "bernoulli_loss": bernoulli_loss,
    "l2_loss": l2_loss,
}
# Gin names (``reconstruction_loss.loss_fn = @bernoulli_loss``); the functions above stay
# undecorated so direct calls do not depend on, or show up in, the gin config.
_gin_bernoulli_loss = gin.external_configurable(
    bernoulli_loss, name="bernoulli_loss", module=__name__,
    allowlist=["subtract_true_image_entropy"])
_gin_l2_loss = gin.external_configurable(l2_loss, name="l2_loss", module=__name__, allowlist=[])


@dataclasses.dataclass(frozen=True)
class ReconstructionLoss:
    """A resolved reconstruction loss: plain values, so models can be cloned without gin.

    Attributes:
      loss_fn: ``"bernoulli_loss"`` or ``"l2_loss"``.
      activation: ``"logits"`` or ``"tanh"``.
      subtract_true_image_entropy: only meaningful for ``bernoulli_loss``.
    """

    loss_fn: str = "bernoulli_loss"
    activation: str = "logits"
    subtract_true_image_entropy: bool = False

    def __post_init__(self):
        if self.loss_fn not in RECONSTRUCTION_LOSSES:
            raise ValueError(
                f"Unknown reconstruction loss {self.loss_fn!r}; known: "
                f"{', '.join(sorted(RECONSTRUCTION_LOSSES))}."
            )
        _check_activation(self.activation)

    def __call__(self, true_images: tf.Tensor, reconstructed_images: tf.Tensor) -> tf.Tensor:
        """Per-sample loss, shape ``(batch,)``."""
        if self.loss_fn == "bernoulli_loss":
            return bernoulli_loss(true_images, reconstructed_images, activation=self.activation,
                                  subtract_true_image_entropy=self.subtract_true_image_entropy)
        return l2_loss(true_images, reconstructed_images, activation=self.activation)


def _function_name(fn, what: str, known) -> str:
    """Registered name of a gin-supplied function (``@bernoulli_loss``) or a name string."""
    name = fn if isinstance(fn, str) else getattr(fn, "__name__", None)
    if name not in known:
        raise ValueError(f"Unknown {what} {fn!r}; known: {', '.join(sorted(known))}.")
    return name


@gin.configurable("reconstruction_loss", allowlist=["loss_fn", "activation"])
def resolve_reconstruction_loss(loss_fn=gin.REQUIRED, activation: str = "logits") -> ReconstructionLoss:
    """Reads ``reconstruction_loss.*`` and ``bernoulli_loss.*`` from gin into plain values."""
    name = _function_name(loss_fn, "reconstruction loss (reconstruction_loss.loss_fn)",
                          RECONSTRUCTION_LOSSES)
    subtract = False
    if name == "bernoulli_loss":
        subtract = bool(gin.get_bindings(_gin_bernoulli_loss).get(
            "subtract_true_image_entropy", False))
        # One call through gin on a 1-pixel image, so that the operative config (the run's
        # train.gin) lists bernoulli_loss's bindings as disentanglement_lib's does.
        _gin_bernoulli_loss(tf.zeros([1, 1]), tf.zeros([1, 1]), activation=activation)
    return ReconstructionLoss(loss_fn=name, activation=activation,
                              subtract_true_image_entropy=subtract)
