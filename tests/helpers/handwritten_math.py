"""The VAE math as rpu_tf wrote it by hand before TensorFlow Probability (issue 30, item 1).

A frozen copy of the tf.math formulas of ``rpu_tf.models.losses`` / ``regularizers`` /
``base_vae`` at commit 96886b9: the parity tests (tests/test_tfp_parity.py) compare the
library against it, and ``benchmarks/tfp_step.py`` patches it into the library to time the
training step with the old math. Same signatures, shapes and units (nats) as the library.
"""

from __future__ import annotations

import math
from typing import Optional

import tensorflow as tf

_LOG_2PI = math.log(2.0 * math.pi)
_ENTROPY_CLIP = 1e-6


def gaussian_log_density(samples: tf.Tensor, mean: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """Elementwise log N(samples; mean, exp(log_var)) in nats; arguments broadcast."""
    diff = samples - mean
    return -0.5 * (diff * diff * tf.exp(-log_var) + log_var + _LOG_2PI)


def bernoulli_entropy(probs: tf.Tensor) -> tf.Tensor:
    """Elementwise entropy (nats) of Bernoulli(probs), probs clipped to [1e-6, 1 - 1e-6]."""
    p = tf.clip_by_value(probs, _ENTROPY_CLIP, 1.0 - _ENTROPY_CLIP)
    return -(p * tf.math.log(p) + (1.0 - p) * tf.math.log1p(-p))


def _flatten(images: tf.Tensor) -> tf.Tensor:
    return tf.reshape(images, [tf.shape(images)[0], -1])


def bernoulli_loss(true_images: tf.Tensor, reconstructed_images: tf.Tensor,
                   activation: str = "logits",
                   subtract_true_image_entropy: bool = False) -> tf.Tensor:
    """Bernoulli negative log-likelihood per sample, ``(batch,)`` nats."""
    true_flat = _flatten(true_images)
    recon_flat = _flatten(reconstructed_images)
    if activation == "logits":
        loss = tf.reduce_sum(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=true_flat, logits=recon_flat), axis=1)
    else:
        probs = tf.clip_by_value(tf.nn.tanh(recon_flat) / 2 + 0.5, 1e-6, 1 - 1e-6)
        loss = -tf.reduce_sum(
            true_flat * tf.math.log(probs) + (1 - true_flat) * tf.math.log(1 - probs), axis=1)
    if subtract_true_image_entropy:
        loss = loss - tf.reduce_sum(bernoulli_entropy(true_flat), axis=1)
    return loss


def l2_loss(true_images: tf.Tensor, reconstructed_images: tf.Tensor,
            activation: str = "logits") -> tf.Tensor:
    """Squared error per sample between the images and sigmoid (or tanh) of the output."""
    if activation == "logits":
        recon = tf.nn.sigmoid(reconstructed_images)
    else:
        recon = tf.nn.tanh(reconstructed_images) / 2 + 0.5
    return tf.reduce_sum(tf.square(_flatten(true_images) - _flatten(recon)), axis=1)


def compute_gaussian_kl(z_mean: tf.Tensor, z_logvar: tf.Tensor) -> tf.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) summed over latents, averaged over the batch (nats)."""
    return tf.reduce_mean(
        0.5 * tf.reduce_sum(tf.square(z_mean) + tf.exp(z_logvar) - z_logvar - 1.0, axis=1))


def total_correlation(z: tf.Tensor, z_mean: tf.Tensor, z_logvar: tf.Tensor) -> tf.Tensor:
    """Minibatch total-correlation estimate (scalar, nats); inputs ``(batch, num_latent)``."""
    log_qz_prob = gaussian_log_density(z[:, None, :], z_mean[None, :, :], z_logvar[None, :, :])
    log_qz_product = tf.reduce_sum(tf.reduce_logsumexp(log_qz_prob, axis=1), axis=1)
    log_qz = tf.reduce_logsumexp(tf.reduce_sum(log_qz_prob, axis=2), axis=1)
    return tf.reduce_mean(log_qz - log_qz_product)


def sample_from_latent_distribution(z_mean: tf.Tensor, z_logvar: tf.Tensor,
                                    seed: Optional[tf.Tensor] = None) -> tf.Tensor:
    """One sample of N(mean, exp(logvar)); ``seed`` (shape [2]) makes it stateless."""
    if seed is None:
        eps = tf.random.normal(tf.shape(z_mean))
    else:
        eps = tf.random.stateless_normal(tf.shape(z_mean), seed=seed)
    return z_mean + tf.exp(z_logvar / 2) * eps
