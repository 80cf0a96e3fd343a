"""Regularisers of the VAE zoo as TensorFlow functions (batch-first, nats).

KL to the unit Gaussian, the minibatch total-correlation estimate (beta-TCVAE), the
permutation of codes (FactorVAE's discriminator input), DIP-VAE's covariance penalties and
the AnnealedVAE capacity, with disentanglement_lib's semantics. The KL and the log densities
of the total-correlation estimator are TensorFlow Probability's
(:mod:`rpu_tf.models.distributions`).
"""

from __future__ import annotations

from typing import Optional

import tensorflow as tf

from rpu_tf.models import distributions
from rpu_tf.models.losses import gaussian_log_density

Seed = Optional[tf.Tensor]  # shape-[2] int32/int64 tensor for stateless random ops, or None


def compute_gaussian_kl(z_mean: tf.Tensor, z_logvar: tf.Tensor) -> tf.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) summed over latents, averaged over the batch (nats)."""
    z_mean = tf.convert_to_tensor(z_mean)
    kl = distributions.tfd().kl_divergence(distributions.gaussian(z_mean, z_logvar),
                                           distributions.unit_gaussian(z_mean.dtype))
    return tf.reduce_mean(tf.reduce_sum(kl, axis=1))


def total_correlation(z: tf.Tensor, z_mean: tf.Tensor, z_logvar: tf.Tensor) -> tf.Tensor:
    """Minibatch estimate of the total correlation of q(z), as in disentanglement_lib.

    ``mean_j [log sum_i q(z_j | x_i) - sum_l log sum_i q(z_jl | x_i)]``, leaving out the
    constant ``(num_latent - 1) * log(batch_size * dataset_size)`` (irrelevant for training).

    Args:
      z: ``(batch, num_latent)`` samples of q(z|x).
      z_mean, z_logvar: ``(batch, num_latent)`` parameters of q(z|x).

    Returns:
      Scalar tensor (nats).
    """
    # log q(z_j,l | x_i) indexed [j, i, l].
    log_qz_prob = gaussian_log_density(z[:, None, :], z_mean[None, :, :], z_logvar[None, :, :])
    log_qz_product = tf.reduce_sum(tf.reduce_logsumexp(log_qz_prob, axis=1), axis=1)
    log_qz = tf.reduce_logsumexp(tf.reduce_sum(log_qz_prob, axis=2), axis=1)
    return tf.reduce_mean(log_qz - log_qz_product)


def shuffle_codes(z: tf.Tensor, seed: Seed = None) -> tf.Tensor:
    """Permutes each latent dimension of ``z`` ``(batch, num_latent)`` independently over the batch."""
    zt = tf.transpose(z)  # (num_latent, batch)
    shape = tf.shape(zt)
    if seed is None:
        keys = tf.random.uniform(shape)
    else:
        keys = tf.random.stateless_uniform(shape, seed=seed)
    perm = tf.argsort(keys, axis=1)
    return tf.transpose(tf.gather(zt, perm, batch_dims=1))


def compute_covariance_z_mean(z_mean: tf.Tensor) -> tf.Tensor:
    """Covariance of the encoder means over the batch, ``(num_latent, num_latent)``."""
    e_zzt = tf.reduce_mean(z_mean[:, :, None] * z_mean[:, None, :], axis=0)
    e_z = tf.reduce_mean(z_mean, axis=0)
    return e_zzt - e_z[:, None] * e_z[None, :]


def regularize_diag_off_diag_dip(covariance: tf.Tensor, lambda_od, lambda_d) -> tf.Tensor:
    """``lambda_od * sum(offdiag^2) + lambda_d * sum((diag - 1)^2)`` of a covariance matrix."""
    diag = tf.linalg.diag_part(covariance)
    off_diag = covariance - tf.linalg.diag(diag)
    return lambda_od * tf.reduce_sum(off_diag ** 2) + lambda_d * tf.reduce_sum((diag - 1.0) ** 2)


def anneal(c_max, step, iteration_threshold) -> tf.Tensor:
    """Capacity ``min(c_max, c_max * step / iteration_threshold)`` of the AnnealedVAE."""
    step = tf.cast(step, tf.float32)
    return tf.minimum(c_max * 1.0, c_max * step / tf.cast(iteration_threshold, tf.float32))


def _sub_seed(seed: Seed, index: int) -> Seed:
    """A different stateless seed derived from ``seed`` for the ``index``-th random op."""
    if seed is None:
        return None
    seed = tf.cast(seed, tf.int64)
    return tf.stack([seed[0], seed[1] * 4 + index])


# ----------------------------------------------------------------------------------------
