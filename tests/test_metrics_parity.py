"""Every metric against disentanglement_lib 1.5 on the same data, representation and seed.

Both libraries get the same ``GroundTruthData`` object, a fresh copy of the same
representation function and ``np.random.RandomState(seed)``; numpy's global random state is
seeded identically before both calls (DCI's boosted trees and SAP's liblinear draw on it).
Results must agree within 1e-6 and both random states must end in the same state.
Parameters are passed to our functions as arguments; dlib reads its discretizer and
``prune_dims`` from gin, bound under its full module path.
"""

from __future__ import annotations

import warnings

import gin
import numpy as np
import pytest

from tests.helpers import metric_testdata as td
from tests.helpers.dlib_oracle import import_dlib

import rpu_tf.metrics as ours

DLIB = "disentanglement_lib.evaluation.metrics."
TOL = 1e-6

DATASETS = {
    # A nuisance grid factor (index 3) and pixel noise: rendering draws random numbers.
    "noisy_grid": lambda: td.ToyGrid((3, 4, 5, 2), (0, 1, 2), noise=0.1),
    # Every grid factor is a ground-truth factor, deterministic rendering.
    "plain_grid": lambda: td.ToyGrid((2, 6, 3), None, noise=0.0),
}
REPS = list(td.REPRESENTATIONS)


@pytest.fixture(scope="module")
def dlib():
    mods = {name: import_dlib(DLIB + name) for name in (
        "utils", "mig", "dci", "sap_score", "factor_vae", "beta_vae", "modularity_explicitness",
        "irs", "unsupervised_metrics")}
    return mods


pytestmark = pytest.mark.usefixtures("clean_gin")


def bind_dlib(dlib, num_bins=20, prune_threshold=None):
    gin.bind_parameter(DLIB + "utils.discretizer.num_bins", num_bins)
    gin.bind_parameter(DLIB + "utils.discretizer.discretizer_fn", dlib["utils"]._histogram_discretize)
    if prune_threshold is not None:
        gin.bind_parameter(DLIB + "factor_vae.prune_dims.threshold", prune_threshold)


HIST = dict(discretizer_fn=ours.histogram_discretize, num_bins=20)


def run_both(dlib_call, our_call, rep: str, data, seed: int = 0):
    """Runs both with fresh representation functions and identical random states."""
    results, states = [], []
    for call in (dlib_call, our_call):
        np.random.seed(1234)
        rs = np.random.RandomState(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results.append(call(data, td.REPRESENTATIONS[rep](data), rs))
        states.append((rs.randint(2 ** 31, size=4).tolist(), np.random.randint(2 ** 31, size=4).tolist()))
    assert states[0][0] == states[1][0], "the random state advanced differently"
    assert states[0][1] == states[1][1], "numpy's global random state advanced differently"
    return results


def assert_close(expected: dict, actual: dict, keys=None):
    keys = sorted(expected) if keys is None else keys
    assert set(expected) == set(actual)
    for k in keys:
        assert np.isfinite(float(actual[k])), (k, actual[k])
        np.testing.assert_allclose(float(actual[k]), float(expected[k]), rtol=0, atol=TOL, err_msg=k)


# metric name -> (dlib call, our call); calls take (data, representation_function, random_state).
def _cases(dlib):
    d = dlib
    return {
        "mig": (lambda g, f, rs: d["mig"].compute_mig(g, f, rs, num_train=600, batch_size=16),
                lambda g, f, rs: ours.compute_mig(g, f, rs, num_train=600, batch_size=16, **HIST)),
        "sap_discrete": (
            lambda g, f, rs: d["sap_score"].compute_sap(g, f, rs, num_train=200, num_test=100,
                                                        continuous_factors=False),
            lambda g, f, rs: ours.compute_sap(g, f, rs, num_train=200, num_test=100, continuous_factors=False)),
        "sap_continuous": (
            lambda g, f, rs: d["sap_score"].compute_sap(g, f, rs, num_train=300, num_test=100,
                                                        continuous_factors=True),
            lambda g, f, rs: ours.compute_sap(g, f, rs, num_train=300, num_test=100, continuous_factors=True)),
        "factor_vae": (
            lambda g, f, rs: d["factor_vae"].compute_factor_vae(
                g, f, rs, batch_size=16, num_train=80, num_eval=40, num_variance_estimate=200),
            lambda g, f, rs: ours.compute_factor_vae(
                g, f, rs, batch_size=16, num_train=80, num_eval=40, num_variance_estimate=200,
                prune_threshold=0.05)),
        "beta_vae": (
            lambda g, f, rs: d["beta_vae"].compute_beta_vae_sklearn(g, f, rs, batch_size=8, num_train=80,
                                                                   num_eval=40),
            lambda g, f, rs: ours.compute_beta_vae_sklearn(g, f, rs, batch_size=8, num_train=80, num_eval=40)),
        "modularity_explicitness": (
            lambda g, f, rs: d["modularity_explicitness"].compute_modularity_explicitness(
                g, f, rs, num_train=400, num_test=200),
            lambda g, f, rs: ours.compute_modularity_explicitness(g, f, rs, num_train=400, num_test=200, **HIST)),
        "irs": (lambda g, f, rs: d["irs"].compute_irs(g, f, rs, num_train=400, batch_size=16),
                lambda g, f, rs: ours.compute_irs(g, f, rs, num_train=400, batch_size=16, **HIST)),
        "unsupervised": (
            lambda g, f, rs: d["unsupervised_metrics"].unsupervised_metrics(g, f, rs, num_train=400),
            lambda g, f, rs: ours.compute_unsupervised_metrics(g, f, rs, num_train=400, **HIST)),
    }


# Where dlib returns NaN or fails, the parity test checks that it does and compares the keys
# it defines; our defined values are tested in test_metrics_edge_cases.py.
DLIB_UNDEFINED = {
    ("modularity_explicitness", "partly_collapsed"), ("modularity_explicitness", "constant"),
    ("unsupervised", "partly_collapsed"), ("unsupervised", "constant"),
}

CHEAP = ["mig", "sap_discrete", "sap_continuous", "factor_vae", "beta_vae", "modularity_explicitness",
         "irs", "unsupervised"]


@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("rep", REPS)
@pytest.mark.parametrize("metric", CHEAP)
def test_parity(dlib, metric, rep, dataset):
    bind_dlib(dlib, prune_threshold=0.05)
    data = DATASETS[dataset]()
    dlib_call, our_call = _cases(dlib)[metric]
    if (metric, rep) in DLIB_UNDEFINED and metric == "modularity_explicitness":
        # dlib standardises constant latents to NaN and its logistic regression rejects them.
        with pytest.raises(ValueError, match="NaN"):
            run_both(dlib_call, our_call, rep, data)
        return
    expected, actual = run_both(dlib_call, our_call, rep, data)
    if (metric, rep) in DLIB_UNDEFINED:
        # dlib: log(0) - log(0) for constant latents (and 0 / 0 for the normalised Wasserstein
        # correlation if all are constant); ours defines them (finite, checked).
        undefined = [k for k in expected if np.isnan(expected[k])]
        assert "gaussian_total_correlation" in undefined
        assert_close(expected, actual, keys=[k for k in expected if k not in undefined])
        assert all(np.isfinite(actual[k]) for k in undefined)
        return
    assert_close(expected, actual)


@pytest.mark.parametrize("rep", REPS)
def test_dci_parity(dlib, rep):
    data = DATASETS["noisy_grid"]()
    expected, actual = run_both(
        lambda g, f, rs: dlib["dci"].compute_dci(g, f, rs, num_train=120, num_test=60),
        lambda g, f, rs: ours.compute_dci(g, f, rs, num_train=120, num_test=60), rep, data)
    assert_close(expected, actual)


def test_dci_parity_second_dataset(dlib):
    data = DATASETS["plain_grid"]()
    expected, actual = run_both(
        lambda g, f, rs: dlib["dci"].compute_dci(g, f, rs, num_train=120, num_test=60, batch_size=7),
        lambda g, f, rs: ours.compute_dci(g, f, rs, num_train=120, num_test=60, batch_size=7), "entangled", data)
    assert_close(expected, actual)


def test_scores_order_representations(dlib):
    """Sanity of the toy setup: disentangled beats entangled on MIG (both libraries agree)."""
    bind_dlib(dlib)
    data = DATASETS["noisy_grid"]()
    call = _cases(dlib)["mig"]
    good = run_both(*call, "disentangled", data)[1]["discrete_mig"]
    bad = run_both(*call, "entangled", data)[1]["discrete_mig"]
    assert good > 0.8 and bad < 0.6


@pytest.mark.parametrize("rep", ["disentangled", "partly_collapsed", "constant"])
def test_factor_vae_default_threshold_parity(dlib, rep):
    """prune_dims.threshold = 0 (dlib's default) keeps constant latents; NaN ratios included."""
    data = DATASETS["noisy_grid"]()
    bind_dlib(dlib, prune_threshold=0.0)
    expected, actual = run_both(
        lambda g, f, rs: dlib["factor_vae"].compute_factor_vae(
            g, f, rs, batch_size=8, num_train=50, num_eval=30, num_variance_estimate=100),
        lambda g, f, rs: ours.compute_factor_vae(
            g, f, rs, batch_size=8, num_train=50, num_eval=30, num_variance_estimate=100, prune_threshold=0.0),
        rep, data)
    assert_close(expected, actual)


def test_factor_vae_reads_prune_dims_from_gin(dlib):
    data = DATASETS["noisy_grid"]()
    gin.bind_parameter("rpu_tf.metrics.factor_vae.prune_dims.threshold", 0.05)
    bind_dlib(dlib, prune_threshold=0.05)
    expected, actual = run_both(
        lambda g, f, rs: dlib["factor_vae"].compute_factor_vae(
            g, f, rs, batch_size=8, num_train=40, num_eval=20, num_variance_estimate=100),
        lambda g, f, rs: ours.compute_factor_vae(
            g, f, rs, batch_size=8, num_train=40, num_eval=20, num_variance_estimate=100),
        "partly_collapsed", data)
    assert_close(expected, actual)
    assert actual["num_active_dims"] == 4  # dlib's quirk: total latents, not active ones


@pytest.mark.parametrize("rep", ["disentangled", "partly_collapsed"])
def test_quirk_fixes_are_options(dlib, rep):
    """IRS num_active_dims (sum of code values) and FactorVAE num_active_dims (total) fixes."""
    data = DATASETS["noisy_grid"]()
    fn = td.REPRESENTATIONS[rep]
    bind_dlib(dlib)
    parity = ours.compute_irs(data, fn(data), np.random.RandomState(0), num_train=200, batch_size=16, **HIST)
    fixed = ours.compute_irs(data, fn(data), np.random.RandomState(0), num_train=200, batch_size=16,
                             fix_num_active_dims=True, **HIST)
    expected = dlib["irs"].compute_irs(data, fn(data), np.random.RandomState(0), num_train=200, batch_size=16)
    assert parity["num_active_dims"] == pytest.approx(float(expected["num_active_dims"]), abs=TOL)
    assert fixed["IRS"] == parity["IRS"]
    assert fixed["num_active_dims"] == {"disentangled": 4, "partly_collapsed": 2}[rep]
    fvae = dict(batch_size=8, num_train=30, num_eval=20, num_variance_estimate=100, prune_threshold=0.05)
    p = ours.compute_factor_vae(data, fn(data), np.random.RandomState(0), **fvae)
    f = ours.compute_factor_vae(data, fn(data), np.random.RandomState(0), fix_num_active_dims=True, **fvae)
    assert p["num_active_dims"] == 4
    assert f["num_active_dims"] == {"disentangled": 4, "partly_collapsed": 2}[rep]
    assert (f["train_accuracy"], f["eval_accuracy"]) == (p["train_accuracy"], p["eval_accuracy"])


def test_num_train_beyond_finite_dataset_matches_dlib(dlib):
    """Sampling is with replacement, as in dlib: num_train may exceed the grid's 6 points."""
    data = td.ToyGrid((2, 3), None)
    assert data.num_observations == 6
    bind_dlib(dlib)
    expected, actual = run_both(*_cases(dlib)["mig"], "disentangled", data)
    assert_close(expected, actual)


def test_mig_on_fixed_data_parity(dlib):
    bind_dlib(dlib)
    data = DATASETS["noisy_grid"]()
    factors, observations = data.sample(300, np.random.RandomState(4))
    for rep in ("disentangled", "entangled"):
        fn = td.REPRESENTATIONS[rep](data)
        expected = dlib["mig"].compute_mig_on_fixed_data(observations, factors.T, fn, batch_size=64)
        actual = ours.compute_mig_on_fixed_data(observations, factors.T, fn, batch_size=64, **HIST)
        assert_close(expected, actual)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_helpers_parity(dlib, dtype):
    """Discretizer (bins and dtype), mutual information and entropy match dlib's helpers."""
    rs = np.random.RandomState(0)
    target = (rs.randn(6, 700) * 4).astype(dtype)
    target[2] = 3  # constant row
    expected = dlib["utils"]._histogram_discretize(target, 20)
    actual = ours.histogram_discretize(target, 20)
    assert actual.dtype == expected.dtype
    np.testing.assert_array_equal(actual, expected)
    ys = rs.randint(0, 9, size=(4, 700)) * 3 - 5
    ys[1] = 7
    np.testing.assert_allclose(ours.utils.discrete_mutual_info(actual, ys),
                               dlib["utils"].discrete_mutual_info(expected, ys), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.utils.discrete_mutual_info(actual, actual),
                               dlib["utils"].discrete_mutual_info(expected, expected), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.utils.discrete_entropy(ys), dlib["utils"].discrete_entropy(ys),
                               rtol=0, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        continuous = rs.randn(2, 300)  # thousands of distinct values: sparse counting path
        np.testing.assert_allclose(ours.utils.discrete_mutual_info(continuous, ys[:, :300]),
                                   dlib["utils"].discrete_mutual_info(continuous, ys[:, :300]),
                                   rtol=0, atol=1e-12)


def test_sampling_helpers_match_dlib_layout(dlib):
    data = DATASETS["noisy_grid"]()
    fn = td.disentangled(data)
    expected = dlib["utils"].generate_batch_factor_code(data, fn, 50, np.random.RandomState(2), 16)
    actual = ours.utils.generate_batch_factor_code(data, fn, 50, np.random.RandomState(2), 16)
    for e, a in zip(expected, actual):
        assert e.shape == a.shape and e.dtype == a.dtype
        np.testing.assert_array_equal(a, e)
    obs = data.sample_observations(37, np.random.RandomState(1))
    np.testing.assert_array_equal(ours.utils.obtain_representation(obs, fn, 10),
                                  dlib["utils"].obtain_representation(obs, fn, 10))


@pytest.mark.parametrize("mode", ["parallel", "sequential", "fallback"])
def test_dci_parallel_fits_keep_parity(dlib, monkeypatch, caplog, mode):
    """Threaded per-factor fits draw exactly the sequential loop's random numbers."""
    from rpu_tf.metrics import dci as our_dci

    data = DATASETS["noisy_grid"]()
    workers = {"parallel": 3, "sequential": 1, "fallback": 3}[mode]
    if mode == "fallback":  # a wrong prediction of sklearn's draws must be caught and redone
        monkeypatch.setattr(our_dci, "_gbt_seed_draws", lambda model, y: 1)
    real = our_dci.compute_importance_gbt
    monkeypatch.setattr(our_dci, "compute_importance_gbt",
                        lambda *a: real(*a, num_workers=workers))
    expected, actual = run_both(
        lambda g, f, rs: dlib["dci"].compute_dci(g, f, rs, num_train=120, num_test=60),
        lambda g, f, rs: ours.compute_dci(g, f, rs, num_train=120, num_test=60), "entangled", data)
    assert_close(expected, actual)
    assert ("refitting sequentially" in caplog.text) == (mode == "fallback")


def test_dci_and_sap_on_fixed_data_parity(dlib):
    """disentanglement_lib's ``*_on_fixed_data`` twins (the first ``train_percentage`` of the
    points train, the rest test) give the same scores from our modules."""
    from rpu_tf.metrics import dci, sap_score

    data = DATASETS["noisy_grid"]()
    factors, observations = data.sample(200, np.random.RandomState(5))
    for rep in ("disentangled", "entangled"):
        fn = td.REPRESENTATIONS[rep](data)
        np.random.seed(3)
        expected = dlib["dci"].compute_dci_on_fixed_data(observations, factors.T, fn, train_percentage=0.7,
                                                         batch_size=64)
        np.random.seed(3)
        actual = dci.compute_dci_on_fixed_data(observations, factors.T, fn, train_percentage=0.7, batch_size=64)
        assert_close(expected, actual)
        for continuous in (False, True):
            np.random.seed(3)
            expected = dlib["sap_score"].compute_sap_on_fixed_data(observations, factors.T, fn, train_percentage=0.7,
                                                                   continuous_factors=continuous, batch_size=64)
            np.random.seed(3)
            actual = sap_score.compute_sap_on_fixed_data(observations, factors.T, fn, train_percentage=0.7,
                                                         continuous_factors=continuous, batch_size=64)
            assert_close(expected, actual)
    with pytest.raises(ValueError, match="labels must have shape"):
        dci.compute_dci_on_fixed_data(observations, factors, fn, train_percentage=0.7)


def test_unstable_gaussian_kl_parity_and_total_correlation(dlib):
    from rpu_tf.metrics import unsupervised_metrics

    rs = np.random.RandomState(0)
    a = rs.randn(4, 4)
    cov = a @ a.T + np.eye(4)
    mean_0, mean_1 = rs.randn(4), rs.randn(4)
    diag = np.diag(np.diag(cov))
    args = (mean_0, cov, mean_1, diag, 4)
    assert unsupervised_metrics.kl_gaussians_numerically_unstable(*args) == pytest.approx(
        dlib["unsupervised_metrics"].kl_gaussians_numerically_unstable(*args), abs=1e-12)
    # the total correlation is that KL from the Gaussian to its marginals' product (zero means)
    zero = np.zeros(4)
    assert unsupervised_metrics.gaussian_total_correlation(cov) == pytest.approx(
        unsupervised_metrics.kl_gaussians_numerically_unstable(zero, cov, zero, diag, 4), abs=1e-10)


def test_each_metric_module_offers_every_public_function_of_dlibs_module_of_that_name(dlib):
    """Code written against ``disentanglement_lib.evaluation.metrics.<name>`` runs against
    ``rpu_tf.metrics.<name>`` by changing the import."""
    import importlib

    for name, module in dlib.items():
        ours_module = importlib.import_module(f"rpu_tf.metrics.{name}")
        public = [f for f, v in vars(module).items() if callable(v) and not f.startswith("_")
                  and getattr(v, "__module__", "") == module.__name__]
        assert public, name
        assert [f for f in public if not hasattr(ours_module, f)] == [], name
