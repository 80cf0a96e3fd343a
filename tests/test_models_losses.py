"""Reconstruction losses and the Gaussian log-density against numpy/scipy."""

import math

import gin
import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from rpu_tf.models import losses


def _rng():
    return np.random.RandomState(0)


def test_gaussian_log_density_matches_scipy():
    rs = _rng()
    x, mean, logvar = rs.normal(size=(3, 5, 4))
    got = losses.gaussian_log_density(tf.constant(x), tf.constant(mean), tf.constant(logvar))
    want = scipy.stats.norm.logpdf(x, loc=mean, scale=np.exp(logvar / 2))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-10)


def test_bernoulli_loss_on_logits_is_summed_cross_entropy():
    rs = _rng()
    true = rs.uniform(size=(3, 4, 4, 1)).astype(np.float32)
    logits = rs.normal(size=(3, 4, 4, 1)).astype(np.float32)
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    want = -(true * np.log(p) + (1 - true) * np.log(1 - p)).reshape(3, -1).sum(1)
    got = losses.bernoulli_loss(tf.constant(true), tf.constant(logits)).numpy()
    assert got.shape == (3,)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_bernoulli_loss_with_entropy_subtracted_is_zero_at_the_truth():
    rs = _rng()
    true = rs.uniform(0.05, 0.95, size=(2, 8, 8, 3)).astype(np.float32)
    logits = np.log(true / (1 - true))
    plain = losses.bernoulli_loss(tf.constant(true), tf.constant(logits)).numpy()
    kl = losses.bernoulli_loss(tf.constant(true), tf.constant(logits),
                               subtract_true_image_entropy=True).numpy()
    assert (plain > 50).all()  # 192 pixels of non-binary targets: far from zero
    np.testing.assert_allclose(kl, 0.0, atol=2e-3)
    worse = losses.bernoulli_loss(tf.constant(true), tf.constant(logits + 1.0),
                                  subtract_true_image_entropy=True).numpy()
    assert (worse > 1.0).all()


def test_bernoulli_loss_tanh_activation():
    rs = _rng()
    true = (rs.uniform(size=(2, 3, 3, 1)) > 0.5).astype(np.float32)
    out = rs.normal(size=(2, 3, 3, 1)).astype(np.float32)
    p = np.clip(np.tanh(out.astype(np.float64)) / 2 + 0.5, 1e-6, 1 - 1e-6)
    want = -(true * np.log(p) + (1 - true) * np.log(1 - p)).reshape(2, -1).sum(1)
    got = losses.bernoulli_loss(tf.constant(true), tf.constant(out), activation="tanh").numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("activation", ["logits", "tanh"])
def test_l2_loss(activation):
    rs = _rng()
    true = rs.uniform(size=(2, 3, 3, 3)).astype(np.float32)
    out = rs.normal(size=(2, 3, 3, 3)).astype(np.float32)
    squash = 1 / (1 + np.exp(-out)) if activation == "logits" else np.tanh(out) / 2 + 0.5
    want = ((true - squash) ** 2).reshape(2, -1).sum(1)
    got = losses.l2_loss(tf.constant(true), tf.constant(out), activation=activation).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_unknown_loss_and_activation_list_the_known_ones():
    with pytest.raises(ValueError, match="known: bernoulli_loss, l2_loss"):
        losses.ReconstructionLoss(loss_fn="cross_entropy")
    with pytest.raises(ValueError, match="known: logits, tanh"):
        losses.ReconstructionLoss(activation="relu")


def test_reconstruction_loss_resolves_from_dlib_gin_names():
    gin.clear_config()
    try:
        gin.parse_config("""
            reconstruction_loss.loss_fn = @bernoulli_loss
            bernoulli_loss.subtract_true_image_entropy = True
        """)
        spec = losses.resolve_reconstruction_loss()
        assert spec == losses.ReconstructionLoss("bernoulli_loss", "logits", True)
        assert "bernoulli_loss.subtract_true_image_entropy = True" in gin.operative_config_str()
        gin.clear_config()
        gin.parse_config("reconstruction_loss.loss_fn = @l2_loss")
        assert losses.resolve_reconstruction_loss().loss_fn == "l2_loss"
    finally:
        gin.clear_config()
    assert math.isfinite(float(losses.ReconstructionLoss()(tf.zeros([1, 2, 2, 1]),
                                                           tf.zeros([1, 2, 2, 1]))[0]))
