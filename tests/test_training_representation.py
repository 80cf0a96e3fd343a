"""Representation functions for metric code: numpy in/out, batched, mean/sampled/KL/UDR."""

import numpy as np
import pytest

from rpu_tf.training import ReplicaGroup, representation
from tests.helpers.training_helpers import BlobData, fc_model

DATA = BlobData(size=16)


@pytest.fixture(scope="module")
def group():
    g = ReplicaGroup(fc_model(num_latent=3), DATA, num_replicas=2, batch_size=8, random_seed=0)
    g.train(2)
    return g


def _observations(num=37):
    return DATA.sample_observations(num, np.random.RandomState(0))


def test_mean_representation_is_the_encoder_mean_in_any_batching(group):
    model = group.model(1)
    obs = _observations()
    direct = model.encode(obs)[0].numpy()
    for batch_size in (5, 16, 64):
        codes = representation.mean_representation_function(model, batch_size=batch_size)(obs)
        assert codes.dtype == np.float32 and codes.shape == (37, 3)
        np.testing.assert_allclose(codes, direct, rtol=1e-5, atol=1e-6)
    assert representation.mean_representation_function(model)(obs[:0]).shape == (0, 3)
    with pytest.raises(ValueError, match=r"shape \(num,\) \+ \(16, 16, 1\)"):
        representation.mean_representation_function(model)(obs[:, :8])


def test_sampled_representation_is_reproducible_and_centred_on_the_mean(group):
    model = group.model(0)
    obs = np.repeat(_observations(1), 4000, axis=0)
    mean, logvar = representation.encode(model, obs[:1])
    f = representation.sampled_representation_function(model, np.random.RandomState(3), 1000)
    samples = f(obs)
    again = representation.sampled_representation_function(
        model, np.random.RandomState(3), 1000)(obs)
    np.testing.assert_array_equal(samples, again)
    np.testing.assert_allclose(samples.mean(axis=0), mean[0], atol=5 * np.exp(logvar[0] / 2).max() / 60)
    np.testing.assert_allclose(samples.std(axis=0), np.exp(logvar[0] / 2), rtol=0.1)


def test_kl_per_latent_is_the_real_gaussian_kl(group):
    model = group.model(0)
    obs = _observations()
    mean, logvar = (a.astype(np.float64) for a in representation.encode(model, obs, batch_size=8))
    want = np.mean(0.5 * (mean ** 2 + np.exp(logvar) - logvar - 1), axis=0)
    kl = representation.kl_per_latent(model, obs, batch_size=8)
    assert kl.shape == (3,)
    np.testing.assert_allclose(kl, want, rtol=1e-6)
    assert (kl >= 0).all()
    # Zero exactly at the prior.
    np.testing.assert_allclose(representation.gaussian_kl_per_latent(np.zeros((2, 3)), np.zeros((2, 3))), 0.0)


def test_udr_and_group_functions(group):
    obs = _observations()
    functions = representation.group_udr_representation_functions(group, batch_size=16)
    assert len(functions) == group.num_replicas
    for f, model in zip(functions, group.models):
        codes, kl = f(obs)
        np.testing.assert_allclose(codes, representation.encode(model, obs)[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(kl, representation.kl_per_latent(model, obs), rtol=1e-5)
    means = representation.group_representation_functions(group)
    assert not np.allclose(means[0](obs), means[1](obs))
    with pytest.raises(ValueError, match="known: 'mean', 'sampled'"):
        representation.representation_function(group.model(0), kind="median")
    with pytest.raises(ValueError, match="random_state"):
        representation.representation_function(group.model(0), kind="sampled")


def test_functions_plug_into_the_metric_code(group):
    from rpu_tf.metrics.mig import compute_mig
    from rpu_tf.metrics.udr import compute_udr_sklearn
    from rpu_tf.metrics.utils import histogram_discretize

    udr = compute_udr_sklearn(DATA, representation.group_udr_representation_functions(group),
                              np.random.RandomState(0), batch_size=50, num_data_points=200)
    assert len(udr["model_scores"]) == group.num_replicas
    assert all(np.isfinite(s) for s in udr["model_scores"])
    mig = compute_mig(DATA, representation.mean_representation_function(group.model(0)),
                      np.random.RandomState(0), num_train=200, num_bins=10,
                      discretizer_fn=histogram_discretize)
    assert 0.0 <= mig["discrete_mig"] <= 1.0


def test_encoding_with_many_models_raises_no_retracing_warning(caplog):
    import logging

    from rpu_tf.training.representation import encode

    observations = _observations(9)
    models = []
    for seed in range(8):  # as a PBT run encodes with each member's models in turn
        g = ReplicaGroup(fc_model(num_latent=3), DATA, num_replicas=1, batch_size=8, random_seed=seed)
        models.append(g.model(0))
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for model in models:
            mean, _ = encode(model, observations, batch_size=4)  # 3 calls each, the last a smaller batch
            assert mean.shape == (9, 3)
    assert "retracing" not in caplog.text
