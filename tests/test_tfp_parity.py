"""The VAE math (TensorFlow Probability where it is used) against the hand-written formulas it
replaced (tests/helpers/handwritten_math.py): same values on fixed float32 inputs, same
samples from the same seed, float32 losses under mixed precision, deterministic training."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rpu_tf.models import losses, regularizers, vae
from rpu_tf.models import make_model
from tests.helpers import handwritten_math as ref
from tests.helpers.training_helpers import BERNOULLI, weights_equal

#: float32 parity: relative tolerance, and an absolute floor for values near 0.
RTOL = 1e-5
ATOL = 1e-5


def _codes(batch: int = 64, latents: int = 10, seed: int = 0):
    """``(z, mean, logvar)`` float32 ``(batch, latents)``; logvar over [-6, 3] (tight and wide)."""
    rs = np.random.RandomState(seed)
    mean = rs.normal(size=(batch, latents)).astype(np.float32)
    logvar = rs.uniform(-6.0, 3.0, size=(batch, latents)).astype(np.float32)
    z = (mean + np.exp(logvar / 2) * rs.normal(size=(batch, latents))).astype(np.float32)
    return tf.constant(z), tf.constant(mean), tf.constant(logvar)


def _images(batch: int = 8, binary: bool = False, seed: int = 1):
    """``(images, logits)`` float32 ``(batch, 16, 16, 1)``; logits over about [-20, 20]."""
    rs = np.random.RandomState(seed)
    images = rs.uniform(size=(batch, 16, 16, 1))
    if binary:
        images = images > 0.7
    logits = rs.normal(scale=6.0, size=(batch, 16, 16, 1))
    return tf.constant(images, tf.float32), tf.constant(logits, tf.float32)


def _close(got, want, rtol=RTOL, atol=ATOL):
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=rtol, atol=atol)


def test_gaussian_log_density_matches_the_handwritten_formula():
    z, mean, logvar = _codes()
    _close(losses.gaussian_log_density(z, mean, logvar), ref.gaussian_log_density(z, mean, logvar))
    # Broadcast as the total-correlation estimator uses it: (batch, 1, L) against (1, batch, L).
    pairs = (z[:, None, :], mean[None], logvar[None])
    got = losses.gaussian_log_density(*pairs)
    assert got.shape == (64, 64, 10)
    _close(got, ref.gaussian_log_density(*pairs))


@pytest.mark.parametrize("activation", ["logits", "tanh"])
@pytest.mark.parametrize("subtract", [False, True])
@pytest.mark.parametrize("binary", [False, True])
def test_bernoulli_loss_matches_the_handwritten_formula(activation, subtract, binary):
    images, logits = _images(binary=binary)
    got = losses.bernoulli_loss(images, logits, activation, subtract)
    assert got.shape == (8,)
    _close(got, ref.bernoulli_loss(images, logits, activation, subtract))


@pytest.mark.parametrize("activation", ["logits", "tanh"])
def test_l2_loss_matches_the_handwritten_formula(activation):
    images, logits = _images()
    _close(losses.l2_loss(images, logits, activation), ref.l2_loss(images, logits, activation))


def test_kl_and_total_correlation_match_the_handwritten_formulas():
    z, mean, logvar = _codes()
    _close(regularizers.compute_gaussian_kl(mean, logvar), ref.compute_gaussian_kl(mean, logvar))
    _close(regularizers.total_correlation(z, mean, logvar), ref.total_correlation(z, mean, logvar))
    # Gradients too: what training sees.
    for fn, lib in ((ref.total_correlation, regularizers.total_correlation),
                    (lambda *a: ref.compute_gaussian_kl(*a[1:]),
                     lambda *a: regularizers.compute_gaussian_kl(*a[1:]))):
        grads = []
        for f in (fn, lib):
            with tf.GradientTape() as tape:
                tape.watch([z, mean, logvar])
                value = f(z, mean, logvar)
            grads.append(tape.gradient(value, [mean, logvar]))
        for want, got in zip(*grads):
            _close(got, want, rtol=1e-4, atol=1e-5)


def test_the_same_seed_gives_the_same_sample_as_before():
    _, mean, logvar = _codes()
    seed = regularizers._sub_seed(tf.constant([12345, 2**40 + 7], tf.int64), 0)
    got = vae.BaseVAE.sample_from_latent_distribution(mean, logvar, seed)
    np.testing.assert_array_equal(got.numpy(), ref.sample_from_latent_distribution(mean, logvar, seed).numpy())
    assert got.dtype == tf.float32


def _model(precision: str):
    return make_model("beta_tc_vae", (16, 16, 1), beta=6.0, num_latent=4, encoder_fn="fc_encoder",
                      decoder_fn="fc_decoder", reconstruction_loss=BERNOULLI, seed=3, precision=precision)


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_beta_tc_vae_loss_terms_match_the_handwritten_formulas(precision):
    model = _model(precision)
    images, _ = _images(binary=True)
    seed = tf.constant([5, 6], tf.int64)
    terms = model.loss_terms(images, seed=seed, step=tf.constant(0, tf.int64))
    assert {t.dtype for t in terms.values()} == {tf.float32}
    mean, logvar = model.encode(images)
    z = ref.sample_from_latent_distribution(mean, logvar, regularizers._sub_seed(seed, 0))
    rec = tf.reduce_mean(ref.bernoulli_loss(images, model.decode(z)))
    kl = ref.compute_gaussian_kl(mean, logvar)
    reg = kl + 5.0 * ref.total_correlation(z, mean, logvar)
    for key, want in (("reconstruction_loss", rec), ("kl_loss", kl), ("regularizer", reg),
                      ("loss", rec + reg), ("elbo", -(rec + kl))):
        _close(terms[key], want)


def test_training_with_the_same_seed_is_deterministic():
    def train() -> list:
        model = _model("float32")
        optimizer = keras.optimizers.Adam(1e-3)
        images, _ = _images(binary=True)
        variables = model.trainable_variables

        @tf.function
        def step(seed):
            with tf.GradientTape() as tape:
                loss = model.loss_terms(images, seed=seed)["loss"]
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            return loss

        losses_seen = [float(step(tf.constant([7, i], tf.int64))) for i in range(3)]
        assert all(np.isfinite(losses_seen)) and losses_seen[0] != losses_seen[1]
        return model.get_weights()

    assert weights_equal(train(), train())
