"""UDR against the plain reference implementation of the spec, known values and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.helpers import metric_testdata as td
from tests.helpers.udr_reference import reference_udr

from rpu_tf.metrics import RepresentationError, udr


@pytest.fixture(scope="module")
def data():
    return td.ToyGrid((3, 4, 5, 2), (0, 1, 2), noise=0.1)


def replica(data, perm, signs, noise_seed, noise=0.05, kl=None):
    """A disentangled model up to permutation and sign flips, with its own small noise.

    Latents in base order: the three factors (KL 1) and a pure-noise latent (KL 0.001,
    inactive); ``kl`` overrides the base-order KL vector.
    """
    base = td.disentangled(data)
    rng = np.random.RandomState(noise_seed)
    perm = np.asarray(perm)
    signs = np.asarray(signs, dtype=np.float64)
    kl = np.array([1.0, 1.0, 1.0, 0.001]) if kl is None else np.asarray(kl, dtype=np.float64)

    def fn(x):
        z = base(x)
        z[:, 3] = rng.randn(z.shape[0])
        z = (z + noise * rng.randn(*z.shape))[:, perm] * signs
        return z, kl[perm]
    return fn


def entangled_replica(data, seed, kl=None):
    mix = np.random.RandomState(seed).randn(data.num_factors, 4)
    kl = np.ones(4) if kl is None else np.asarray(kl)

    def fn(x):
        v = 2.0 * np.asarray(x, dtype=np.float64)[:, :3] - 1.0
        return np.tanh(v @ mix), kl
    return fn


def mixed_models(data):
    """Four models of every kind, with latents below, between and above the KL thresholds."""
    return [
        replica(data, [0, 1, 2, 3], [1, 1, 1, 1], 1, kl=[1.2, 0.9, 0.5, 0.008]),
        replica(data, [2, 0, 1, 3], [-1, 1, -1, 1], 2, kl=[0.7, 1.1, 0.6, 0.03]),
        entangled_replica(data, 5, kl=[0.4, 0.2, 0.02, 0.3]),
        (lambda f: lambda x: (f(x), np.array([0.5, 0.009, 0.004, 0.7])))(td.partly_collapsed(data)),
    ]


def fresh(factory, data):
    return factory(data)


def assert_udr_close(expected: dict, actual: dict):
    assert set(expected) == set(actual)
    for key in expected:
        e, a = np.asarray(expected[key], dtype=np.float64), np.asarray(actual[key], dtype=np.float64)
        assert e.shape == a.shape, key
        np.testing.assert_allclose(a, e, rtol=0, atol=1e-6, equal_nan=True, err_msg=key)


@pytest.mark.parametrize("correlation_matrix", ["lasso", "spearman"])
@pytest.mark.parametrize("filter_low_kl,threshold", [(True, 0.01), (True, 0.005), (True, 0.05), (False, 0.01)])
def test_matches_reference(data, correlation_matrix, filter_low_kl, threshold):
    kwargs = dict(batch_size=10, num_data_points=200, correlation_matrix=correlation_matrix,
                  filter_low_kl=filter_low_kl, kl_filter_threshold=threshold)
    results, states = [], []
    for impl in (reference_udr, udr.compute_udr_sklearn):
        rs = np.random.RandomState(3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results.append(impl(data, mixed_models(data), rs, **kwargs))
        states.append(rs.randint(2 ** 31, size=3).tolist())
    assert_udr_close(*results)
    assert states[0] == states[1]  # Lasso consumes the same number of draws
    assert all(np.isfinite(results[1]["model_scores"]))


def test_without_raw_correlations(data):
    result = udr.compute_udr_sklearn(data, mixed_models(data), np.random.RandomState(0), batch_size=20,
                                     num_data_points=100, include_raw_correlations=False)
    assert set(result) == {"model_scores", "pairwise_disentanglement_scores"}
    pairwise = np.asarray(result["pairwise_disentanglement_scores"])
    assert pairwise.shape == (4, 4, 1)
    assert np.all(np.diag(pairwise[:, :, 0]) == 0)


@pytest.mark.parametrize("correlation_matrix", ["lasso", "spearman"])
def test_identical_disentangled_replicas_score_high(data, correlation_matrix):
    models = [replica(data, p, s, seed) for seed, (p, s) in enumerate([
        ([0, 1, 2, 3], [1, 1, 1, 1]), ([1, 0, 3, 2], [-1, 1, 1, -1]), ([3, 2, 1, 0], [1, -1, -1, 1]),
        ([2, 3, 0, 1], [1, 1, -1, -1]), ([0, 2, 1, 3], [-1, -1, 1, 1])])]
    result = udr.compute_udr_sklearn(data, models, np.random.RandomState(0), batch_size=10,
                                     num_data_points=500, correlation_matrix=correlation_matrix)
    assert min(result["model_scores"]) > 0.8


@pytest.mark.parametrize("correlation_matrix", ["lasso", "spearman"])
def test_entangled_replicas_score_low(data, correlation_matrix):
    models = [entangled_replica(data, seed) for seed in range(5)]
    entangled = udr.compute_udr_sklearn(data, models, np.random.RandomState(0), batch_size=10,
                                        num_data_points=500, correlation_matrix=correlation_matrix)
    rng = np.random.RandomState(9)
    noise = [lambda x, k=k: (rng.randn(len(x), 4), np.ones(4)) for k in range(5)]
    random = udr.compute_udr_sklearn(data, noise, np.random.RandomState(0), batch_size=10,
                                     num_data_points=500, correlation_matrix=correlation_matrix)
    assert max(entangled["model_scores"]) < 0.7
    assert max(random["model_scores"]) < 0.5


def test_model_scores_are_column_medians(data):
    result = udr.compute_udr_sklearn(data, mixed_models(data), np.random.RandomState(1), batch_size=10,
                                     num_data_points=100)
    pairwise = np.asarray(result["pairwise_disentanglement_scores"])[:, :, 0]
    for i, score in enumerate(result["model_scores"]):
        assert score == pytest.approx(np.median(np.delete(pairwise[:, i], i)))


def test_zero_active_latents_scores_zero(data):
    """A collapsed model (every KL <= threshold): its pairs score 0 instead of dlib's crash."""
    dead = (lambda f: lambda x: (f(x), np.full(4, 0.001)))(td.disentangled(data))
    models = [replica(data, [0, 1, 2, 3], [1] * 4, 1), replica(data, [1, 0, 2, 3], [1] * 4, 2), dead]
    result = udr.compute_udr_sklearn(data, models, np.random.RandomState(0), batch_size=10, num_data_points=200)
    pairwise = np.asarray(result["pairwise_disentanglement_scores"])[:, :, 0]
    assert result["model_scores"][2] == 0.0
    assert np.all(pairwise[2, :] == 0) and np.all(pairwise[:, 2] == 0)
    assert pairwise[0, 1] > 0.8 and pairwise[1, 0] > 0.8
    with pytest.raises(ValueError), warnings.catch_warnings():  # the spec (and dlib) fail here
        warnings.simplefilter("ignore", RuntimeWarning)
        reference_udr(data, models, np.random.RandomState(0), batch_size=10, num_data_points=200)


def test_all_models_collapsed_without_filter(data):
    dead = [(lambda f: lambda x: (f(x), np.zeros(4)))(td.disentangled(data)) for _ in range(3)]
    result = udr.compute_udr_sklearn(data, dead, np.random.RandomState(0), batch_size=10, num_data_points=100,
                                     filter_low_kl=False)
    assert result["model_scores"] == [0.0, 0.0, 0.0]


def test_mask_with_filter_threshold_option(data):
    """Hard-coded 0.01 zeroing by default; the option zeroes at kl_filter_threshold instead."""
    kl = [1.0, 1.0, 0.02, 1.0]
    models = lambda: [replica(data, [0, 1, 2, 3], [1] * 4, s, kl=kl) for s in range(3)]
    kwargs = dict(batch_size=10, num_data_points=100, filter_low_kl=False, kl_filter_threshold=0.05)
    default = udr.compute_udr_sklearn(data, models(), np.random.RandomState(0), **kwargs)
    option = udr.compute_udr_sklearn(data, models(), np.random.RandomState(0), mask_with_filter_threshold=True,
                                     **kwargs)
    raw_default = np.asarray(default["raw_correlations"])
    raw_option = np.asarray(option["raw_correlations"])
    assert raw_default[0, 1, 2, 2] > 0.5  # latent 2 (KL 0.02 > 0.01) kept by dlib's rule
    assert np.all(raw_option[0, 1, 2, :] == 0) and np.all(raw_option[0, 1, :, 2] == 0)
    expected = reference_udr(data, models(), np.random.RandomState(0), **kwargs)
    assert_udr_close(expected, default)


class TestBadInput:
    def test_single_model(self, data):
        with pytest.raises(ValueError, match="at least 2"):
            udr.compute_udr_sklearn(data, [replica(data, [0, 1, 2, 3], [1] * 4, 0)], np.random.RandomState(0),
                                    batch_size=10, num_data_points=100)

    def test_batch_size_must_divide(self, data):
        with pytest.raises(ValueError, match="multiple of batch_size"):
            udr.compute_udr_sklearn(data, mixed_models(data), np.random.RandomState(0), batch_size=7,
                                    num_data_points=100)

    def test_unknown_correlation(self, data):
        with pytest.raises(ValueError, match="lasso"):
            udr.compute_udr_sklearn(data, mixed_models(data), np.random.RandomState(0), batch_size=10,
                                    num_data_points=100, correlation_matrix="pearson")

    @pytest.mark.parametrize("output,match", [
        (lambda x: np.zeros((len(x), 4)), "pair"),
        (lambda x: (np.zeros((len(x), 4)), np.ones(3)), "KL of shape"),
        (lambda x: (np.zeros((len(x), 4)), np.array([1, np.nan, 1, 1])), "non-finite KL"),
        (lambda x: (np.full((len(x), 4), np.nan), np.ones(4)), "NaN"),
        (lambda x: (np.zeros((len(x) - 1, 4)), np.ones(4)), "rows for a batch"),
        (lambda x: (np.zeros((len(x), 4, 1)), np.ones(4)), "2-D"),
    ])
    def test_bad_representation(self, data, output, match):
        models = [replica(data, [0, 1, 2, 3], [1] * 4, 0), output]
        with pytest.raises(RepresentationError, match=match):
            udr.compute_udr_sklearn(data, models, np.random.RandomState(0), batch_size=10, num_data_points=100)

    def test_different_widths(self, data):
        narrow = lambda x: (np.random.RandomState(0).randn(len(x), 3), np.ones(3))
        with pytest.raises(RepresentationError, match="same number of latents"):
            udr.compute_udr_sklearn(data, [replica(data, [0, 1, 2, 3], [1] * 4, 0), narrow],
                                    np.random.RandomState(0), batch_size=10, num_data_points=100)


class TestMemberScore:
    def test_mean_and_argmax(self):
        result = udr.member_score({"model_scores": [0.2, 0.9, 0.4, 0.9, 0.1]})
        assert result.score == pytest.approx(0.5)
        assert result.best_replica == 1  # first of the tied maxima
        assert udr.member_score([0.3, 0.1]) == (pytest.approx(0.2), 0)

    def test_from_udr_result(self, data):
        result = udr.compute_udr_sklearn(data, mixed_models(data), np.random.RandomState(0), batch_size=10,
                                         num_data_points=100)
        member = udr.member_score(result)
        assert member.score == pytest.approx(np.mean(result["model_scores"]))
        assert member.best_replica == int(np.argmax(result["model_scores"]))

    @pytest.mark.parametrize("bad", [[], [0.1, float("nan")], [[0.1, 0.2]]])
    def test_rejects_bad_scores(self, bad):
        with pytest.raises(ValueError):
            udr.member_score(bad)


def test_a_lasso_that_does_not_converge_is_one_log_line_not_a_warning(monkeypatch):
    import warnings

    from sklearn import exceptions, linear_model

    from rpu_tf.metrics import udr as udr_module
    from rpu_tf.metrics.udr import _lasso_correlations

    fit = linear_model.Lasso.fit

    def fit_and_warn(self, *args, **kwargs):
        warnings.warn("Objective did not converge. You might want to increase the number of iterations. "
                      "Duality gap: 1.3e-01, tolerance: 1.0e-01", exceptions.ConvergenceWarning)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(linear_model.Lasso, "fit", fit_and_warn)
    logged = []  # what the module logs, whatever level other tests left its logger at
    monkeypatch.setattr(udr_module.logger, "debug", lambda message, *args: logged.append(message % args))
    rs = np.random.RandomState(0)
    codes = [rs.randn(200, 3) for _ in range(2)]
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        raw = _lasso_correlations(codes, np.random.RandomState(0))
    assert raw.shape == (2, 2, 3, 3) and not escaped
    assert logged == [f"UDR: the Lasso of model {i} stopped at scikit-learn's iteration limit (Duality gap: "
                      "1.3e-01, tolerance: 1.0e-01)." for i in (0, 1)]
