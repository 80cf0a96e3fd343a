"""The VAE zoo: loss terms against numpy, shapes, gin names, errors, serialization."""

import re

import gin
import keras
import numpy as np
import pytest
import scipy.special
import scipy.stats
import tensorflow as tf

from rpu_tf.models import architectures, vae
from rpu_tf.models import make_model
from tests.helpers.training_helpers import BERNOULLI, fc_model, weights_equal


def _numpy_total_correlation(z, mean, logvar):
    """The minibatch estimator written out sample by sample."""
    batch = z.shape[0]
    total = 0.0
    for j in range(batch):
        # log q(z_j,l | x_i) for every i (rows) and latent l (columns).
        log_q = scipy.stats.norm.logpdf(z[j][None, :], loc=mean, scale=np.exp(logvar / 2))
        log_qz = scipy.special.logsumexp(log_q.sum(axis=1))
        log_prod = sum(scipy.special.logsumexp(log_q[:, l]) for l in range(z.shape[1]))
        total += log_qz - log_prod
    return total / batch


def test_total_correlation_matches_numpy():
    rs = np.random.RandomState(0)
    for batch, latents in [(7, 3), (16, 10)]:
        mean = rs.normal(size=(batch, latents))
        logvar = rs.normal(scale=0.5, size=(batch, latents))
        z = mean + np.exp(logvar / 2) * rs.normal(size=(batch, latents))
        got = vae.total_correlation(tf.constant(z), tf.constant(mean), tf.constant(logvar))
        np.testing.assert_allclose(float(got), _numpy_total_correlation(z, mean, logvar),
                                   rtol=1e-9, atol=1e-9)
    # Strongly correlated codes have a larger estimate than independent ones.
    base = rs.normal(size=(64, 1))
    correlated = np.repeat(base, 4, axis=1)
    independent = rs.normal(size=(64, 4))
    small = np.full((64, 4), -4.0)
    tc_corr = float(vae.total_correlation(*map(tf.constant, (correlated, correlated, small))))
    tc_ind = float(vae.total_correlation(*map(tf.constant, (independent, independent, small))))
    assert tc_corr > tc_ind + 1.0


def test_gaussian_kl_matches_numpy():
    rs = np.random.RandomState(1)
    mean, logvar = rs.normal(size=(2, 5, 3))
    want = np.mean(0.5 * np.sum(mean ** 2 + np.exp(logvar) - logvar - 1, axis=1))
    np.testing.assert_allclose(float(vae.compute_gaussian_kl(tf.constant(mean), tf.constant(logvar))),
                               want, rtol=1e-12)


def test_shuffle_codes_permutes_each_dimension_independently():
    z = np.arange(40, dtype=np.float32).reshape(10, 4) * 1.0
    shuffled = vae.shuffle_codes(tf.constant(z), seed=tf.constant([1, 2])).numpy()
    for l in range(4):
        assert sorted(shuffled[:, l]) == sorted(z[:, l])
    assert not np.array_equal(shuffled, z)
    # Rows are mixed across dimensions: some row is no longer a row of z.
    rows = {tuple(r) for r in z}
    assert any(tuple(r) not in rows for r in shuffled)
    again = vae.shuffle_codes(tf.constant(z), seed=tf.constant([1, 2])).numpy()
    np.testing.assert_array_equal(shuffled, again)


@pytest.mark.parametrize("name", sorted(vae.MODELS))
def test_loss_terms_follow_the_definitions(name):
    model = fc_model(name)
    model.build((None, 16, 16, 1))
    x = tf.constant((np.random.RandomState(0).uniform(size=(8, 16, 16, 1)) > 0.7).astype(np.float32))
    seed = tf.constant([3, 4])
    step = tf.constant(40, tf.int64)
    terms = {k: float(v) for k, v in model.loss_terms(x, seed=seed, step=step).items()}
    assert all(np.isfinite(v) for v in terms.values())
    rec, kl, reg = terms["reconstruction_loss"], terms["kl_loss"], terms["regularizer"]
    assert terms["loss"] == pytest.approx(rec + reg, rel=1e-6)
    assert rec > 0 and kl >= 0
    # Recompute each regulariser from the same encoder outputs and noise.
    mean, logvar = model.encode(x)
    z = model.sample_from_latent_distribution(mean, logvar, vae._sub_seed(seed, 0))
    hp = model.hyperparameters()
    if name == "vae":
        assert reg == pytest.approx(hp["beta"] * kl, rel=1e-5)
    elif name == "beta_tc_vae":
        tc = _numpy_total_correlation(z.numpy().astype(np.float64), mean.numpy().astype(np.float64),
                                      logvar.numpy().astype(np.float64))
        assert reg == pytest.approx(kl + (hp["beta"] - 1) * tc, rel=1e-4, abs=1e-3)
    elif name == "annealed_vae":
        c = min(hp["c_max"], hp["c_max"] * 40 / hp["iteration_threshold"])
        assert reg == pytest.approx(hp["gamma"] * abs(kl - c), rel=1e-5)
    elif name == "dip_vae":
        m = mean.numpy().astype(np.float64)
        cov = np.cov(m, rowvar=False, bias=True)
        off = cov - np.diag(np.diag(cov))
        dip = hp["lambda_od"] * (off ** 2).sum() + hp["lambda_od"] * hp["lambda_d_factor"] * (
            (np.diag(cov) - 1) ** 2).sum()
        assert reg == pytest.approx(kl + dip, rel=1e-4)
    elif name == "factor_vae":
        assert reg == pytest.approx(kl + hp["gamma"] * terms["tc_loss"], rel=1e-5)
        assert terms["discriminator_objective"] == pytest.approx(-terms["discriminator_loss"])
        assert "elbo" not in terms
    if name != "factor_vae":
        assert terms["elbo"] == pytest.approx(-(rec + kl), rel=1e-6)


def test_dip_vae_ii_adds_the_mean_encoder_variance():
    x = tf.constant((np.random.RandomState(0).uniform(size=(8, 16, 16, 1)) > 0.7).astype(np.float32))
    common = dict(num_latent=3, encoder_fn="fc_encoder", decoder_fn="fc_decoder",
                  reconstruction_loss=BERNOULLI, seed=5, lambda_od=1.0, lambda_d_factor=1.0)
    one = make_model("dip_vae", (16, 16, 1), dip_type="i", **common)
    two = make_model("dip_vae", (16, 16, 1), dip_type="ii", **common)
    mean, logvar = (t.numpy().astype(np.float64) for t in one.encode(x))
    cov = np.cov(mean, rowvar=False, bias=True) + np.diag(np.exp(logvar).mean(axis=0))
    dip = ((cov - np.diag(np.diag(cov))) ** 2).sum() + ((np.diag(cov) - 1) ** 2).sum()
    kl = float(vae.compute_gaussian_kl(*one.encode(x)))
    reg = float(two.regularizer(kl, *two.encode(x), None, tf.constant(0, tf.int64)))
    assert reg == pytest.approx(kl + dip, rel=1e-4)
    with pytest.raises(ValueError, match="known: 'i', 'ii'"):
        make_model("dip_vae", dip_type="iii", **common)


@pytest.mark.parametrize("encoder_fn,decoder_fn,shape", [
    ("conv_encoder", "deconv_decoder", (64, 64, 1)),
    ("conv_encoder", "deconv_decoder", (64, 64, 3)),
    ("fc_encoder", "fc_decoder", (64, 64, 3)),
])
def test_encode_decode_shapes(encoder_fn, decoder_fn, shape):
    model = make_model("vae", shape, beta=1.0, num_latent=6, encoder_fn=encoder_fn,
                       decoder_fn=decoder_fn, reconstruction_loss=BERNOULLI, seed=0)
    x = tf.zeros((3,) + shape)
    mean, logvar = model.encode(x)
    assert mean.shape == (3, 6) and logvar.shape == (3, 6)
    assert model.decode(mean).shape == (3,) + shape
    assert model(x).shape == (3,) + shape


def test_conv_architecture_rejects_other_image_sizes():
    model = make_model("beta_tc_vae", beta=2.0, num_latent=4, encoder_fn="conv_encoder",
                       decoder_fn="deconv_decoder", reconstruction_loss=BERNOULLI)
    for shape in ((40, 40, 1), (16, 16, 1), (64, 32, 1)):
        with pytest.raises(ValueError, match=r"conv_encoder supports square observations whose side is a "
                                             r"multiple of 16 \(at least 32\).*got " + re.escape(str(shape))):
            model.build((None,) + shape)


def test_conv_architecture_runs_on_32x32_with_the_same_layers():
    small = make_model("beta_tc_vae", (32, 32, 1), beta=2.0, num_latent=4, encoder_fn="conv_encoder",
                       decoder_fn="deconv_decoder", reconstruction_loss=BERNOULLI, seed=0)
    large = make_model("beta_tc_vae", (64, 64, 1), beta=2.0, num_latent=4, encoder_fn="conv_encoder",
                       decoder_fn="deconv_decoder", reconstruction_loss=BERNOULLI, seed=0)
    x = np.zeros((2, 32, 32, 1), np.float32)
    mean, _ = small.encode(x)
    assert small.decode(mean).shape == (2, 32, 32, 1)
    assert [type(l) for l in small.encoder.layers] == [type(l) for l in large.encoder.layers]
    assert small.encoder.get_layer("e5").kernel.shape == (256, 256)  # 2x2x64 flattened
    assert large.encoder.get_layer("e5").kernel.shape == (1024, 256)
    assert small.decoder.get_layer("d2").kernel.shape == (256, 256)
    with pytest.raises(ValueError, match="height, width, channels"):
        architectures.check_observation_shape((64, 64), "fc_encoder", "fc_decoder")


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="known: annealed_vae, beta_tc_vae, dip_vae, factor_vae, vae"):
        vae.get_model_class("beta_vae")
    with pytest.raises(ValueError, match="known: conv_encoder, fc_encoder"):
        make_model("vae", beta=1.0, num_latent=2, encoder_fn="resnet_encoder",
                   decoder_fn="fc_decoder", reconstruction_loss=BERNOULLI)
    with pytest.raises(ValueError, match="known: deconv_decoder, fc_decoder"):
        make_model("vae", beta=1.0, num_latent=2, encoder_fn="fc_encoder",
                   decoder_fn="conv_encoder", reconstruction_loss=BERNOULLI)
    with pytest.raises(ValueError, match="known: beta"):
        fc_model("vae").set_hyperparameters(gamma=3.0)


def test_same_seed_same_weights_and_other_seed_other_weights():
    a = make_model("beta_tc_vae", (64, 64, 1), beta=2.0, num_latent=5, encoder_fn="conv_encoder",
                   decoder_fn="deconv_decoder", reconstruction_loss=BERNOULLI, seed=11)
    b = make_model("beta_tc_vae", (64, 64, 1), beta=2.0, num_latent=5, encoder_fn="conv_encoder",
                   decoder_fn="deconv_decoder", reconstruction_loss=BERNOULLI, seed=11)
    c = vae.clone_model(a, seed=12)
    assert weights_equal(a.get_weights(), b.get_weights())
    assert not weights_equal(a.get_weights(), c.get_weights())


def test_models_from_dlib_gin_bindings():
    gin.clear_config()
    try:
        gin.parse_config("""
            encoder.num_latent = 7
            encoder.encoder_fn = @fc_encoder
            decoder.decoder_fn = @fc_decoder
            reconstruction_loss.loss_fn = @l2_loss
            discriminator.discriminator_fn = @fc_discriminator
            factor_vae.gamma = 20.
            dip_vae.lambda_od = 5.
            dip_vae.lambda_d_factor = 10.
            dip_vae.dip_type = "ii"
            annealed_vae.c_max = 25.
            annealed_vae.gamma = 1000
            annealed_vae.iteration_threshold = 100000
            beta_tc_vae.beta = 6.
        """)
        expected = {"beta_tc_vae": {"beta": 6.0}, "factor_vae": {"gamma": 20.0},
                    "dip_vae": {"lambda_od": 5.0, "lambda_d_factor": 10.0},
                    "annealed_vae": {"gamma": 1000.0, "c_max": 25.0, "iteration_threshold": 1e5}}
        for name, hp in expected.items():
            model = gin.get_configurable(name)()
            assert isinstance(model, vae.MODELS[name])
            assert model.hyperparameters() == hp
            assert (model.num_latent, model.encoder_fn, model.decoder_fn) == (7, "fc_encoder", "fc_decoder")
            assert model.reconstruction_loss.loss_fn == "l2_loss"
        assert gin.get_configurable("dip_vae")().dip_type == "ii"
        operative = gin.operative_config_str()
        assert "beta_tc_vae.beta = 6.0" in operative and "encoder.num_latent = 7" in operative
        with pytest.raises(ValueError, match="No configurable matching reference '@resnet'"):
            gin.parse_config("encoder.encoder_fn = @resnet")
    finally:
        gin.clear_config()


@pytest.mark.parametrize("name", ["beta_tc_vae", "factor_vae", "dip_vae"])
def test_keras_file_round_trip(tmp_path, name):
    model = fc_model(name)
    model.build((None, 16, 16, 1))
    model.set_hyperparameters(**{model.regularizer_weight_name: 3.5})
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.hyperparameters() == model.hyperparameters()
    x = np.random.RandomState(0).uniform(size=(4, 16, 16, 1)).astype(np.float32)
    np.testing.assert_array_equal(loaded.encode(x)[0].numpy(), model.encode(x)[0].numpy())
    np.testing.assert_array_equal(loaded.decode(np.ones((2, 4), np.float32)).numpy(),
                                  model.decode(np.ones((2, 4), np.float32)).numpy())
