"""Bad input and the scores we define where disentanglement_lib returns NaN or fails."""

from __future__ import annotations

import warnings

import gin
import numpy as np
import pytest

from tests.helpers import metric_testdata as td
from tests.helpers.dlib_oracle import import_dlib

import rpu_tf.metrics as ours
from rpu_tf.metrics import RepresentationError, utils

DLIB = "disentanglement_lib.evaluation.metrics."
HIST = dict(discretizer_fn=ours.histogram_discretize, num_bins=20)


pytestmark = pytest.mark.usefixtures("clean_gin")


@pytest.fixture(scope="module")
def data():
    return td.ToyGrid((3, 4, 5, 2), (0, 1, 2), noise=0.1)


def bind_dlib():
    du = import_dlib(DLIB + "utils")
    gin.bind_parameter(DLIB + "utils.discretizer.num_bins", 20)
    gin.bind_parameter(DLIB + "utils.discretizer.discretizer_fn", du._histogram_discretize)


METRICS = {
    "mig": lambda g, f: ours.compute_mig(g, f, np.random.RandomState(0), num_train=64, **HIST),
    "dci": lambda g, f: ours.compute_dci(g, f, np.random.RandomState(0), num_train=64, num_test=32),
    "sap": lambda g, f: ours.compute_sap(g, f, np.random.RandomState(0), num_train=64, num_test=32,
                                         continuous_factors=False),
    "factor_vae": lambda g, f: ours.compute_factor_vae(g, f, np.random.RandomState(0), batch_size=8, num_train=10,
                                                       num_eval=10, num_variance_estimate=64, prune_threshold=0.05),
    "beta_vae": lambda g, f: ours.compute_beta_vae_sklearn(g, f, np.random.RandomState(0), batch_size=8,
                                                           num_train=10, num_eval=10),
    "modularity": lambda g, f: ours.compute_modularity_explicitness(g, f, np.random.RandomState(0), num_train=64,
                                                                    num_test=32, **HIST),
    "irs": lambda g, f: ours.compute_irs(g, f, np.random.RandomState(0), num_train=64, batch_size=16, **HIST),
    "unsupervised": lambda g, f: ours.compute_unsupervised_metrics(g, f, np.random.RandomState(0), num_train=64,
                                                                   **HIST),
    "mig_fixed": lambda g, f: ours.compute_mig_on_fixed_data(
        g.sample_observations(40, np.random.RandomState(0)), np.zeros((1, 40)), f, **HIST),
}

BAD_OUTPUTS = {
    "3-D": (lambda x: np.zeros((len(x), 4, 1)), "2-D array"),
    "1-D": (lambda x: np.zeros(len(x)), "2-D array"),
    "short batch": (lambda x: np.zeros((max(len(x) - 1, 0), 4)), "rows for a batch"),
    "long batch": (lambda x: np.zeros((len(x) + 3, 4)), "rows for a batch"),
    "nan": (lambda x: np.where(np.arange(4) == 2, np.nan, np.ones((len(x), 4))), r"NaN/inf values .*latents \[2\]"),
    "inf": (lambda x: np.full((len(x), 4), np.inf), "NaN/inf"),
    "no latents": (lambda x: np.zeros((len(x), 0)), "0 latents"),
    "strings": (lambda x: np.full((len(x), 4), "a"), "real numbers"),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf - inf before the check fires
@pytest.mark.parametrize("bad", list(BAD_OUTPUTS))
@pytest.mark.parametrize("metric", list(METRICS))
def test_bad_representation_output_raises_clear_error(data, metric, bad):
    fn, match = BAD_OUTPUTS[bad]
    with pytest.raises(RepresentationError, match=match):
        METRICS[metric](data, fn)


def test_width_change_between_batches(data):
    calls = []

    def fn(x):
        calls.append(1)
        return np.zeros((len(x), 3 if len(calls) == 1 else 4))
    with pytest.raises(RepresentationError, match="different numbers of latents"):
        ours.compute_mig(data, fn, np.random.RandomState(0), num_train=40, batch_size=16, **HIST)


@pytest.mark.parametrize("kwargs,match", [
    (dict(num_train=0), "num_train"), (dict(num_train=2.5), "num_train"),
    (dict(num_train=10, batch_size=0), "batch_size"),
])
def test_bad_sizes(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ours.compute_mig(data, td.disentangled(data), np.random.RandomState(0), **HIST, **kwargs)


def test_unlabelled_data_rejected():
    class NoFactors(td.ToyGrid):
        @property
        def num_factors(self):
            return 0
    with pytest.raises(ValueError, match="at least 1 ground-truth factor"):
        ours.compute_mig(NoFactors(), lambda x: x, np.random.RandomState(0), num_train=10, **HIST)


def test_gin_required_parameters_are_reported(data):
    with pytest.raises(RuntimeError, match="num_train"):
        ours.compute_mig(data, td.disentangled(data), np.random.RandomState(0), **HIST)
    with pytest.raises(RuntimeError, match="discretizer"):
        ours.compute_mig(data, td.disentangled(data), np.random.RandomState(0), num_train=20)


# --- factors that take a single value --------------------------------------------------
def test_mig_leaves_out_constant_factor(data, caplog):
    """dlib: 0/0 = NaN; ours: the constant factor has no defined gap and is left out."""
    grid = td.ToyGrid((3, 1, 5), None)
    fn = td.disentangled(grid)
    with caplog.at_level("WARNING"):
        score = ours.compute_mig(grid, fn, np.random.RandomState(0), num_train=300, **HIST)["discrete_mig"]
    assert "left out" in caplog.text
    mus, ys = utils.generate_batch_factor_code(grid, fn, 300, np.random.RandomState(0), 16)
    expected = ours.mig._compute_mig(mus, ys[[0, 2]], **HIST)["discrete_mig"]
    assert score == pytest.approx(expected, abs=1e-12) and np.isfinite(score)
    bind_dlib()
    dlib_mig = import_dlib(DLIB + "mig")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(dlib_mig.compute_mig(grid, fn, np.random.RandomState(0), num_train=300)["discrete_mig"])


def test_mig_all_factors_constant_raises():
    grid = td.ToyGrid((1, 1), None)
    with pytest.raises(ValueError, match="every factor takes a single value"):
        ours.compute_mig(grid, lambda x: x + np.arange(2), np.random.RandomState(0), num_train=20, **HIST)


@pytest.mark.parametrize("metric", ["dci", "sap", "modularity"])
def test_classifier_metrics_reject_constant_factor(metric):
    grid = td.ToyGrid((3, 1, 4), None)
    with pytest.raises(ValueError, match="factor 1 takes a single value"):
        METRICS[metric](grid, td.disentangled(grid))


def test_sap_continuous_rejects_constant_factor():
    grid = td.ToyGrid((3, 1, 4), None)
    with pytest.raises(ValueError, match="single value"):
        ours.compute_sap(grid, td.disentangled(grid), np.random.RandomState(0), num_train=50, num_test=10,
                         continuous_factors=True)


def test_beta_vae_needs_two_factors():
    grid = td.ToyGrid((4,), None)
    with pytest.raises(ValueError, match="at least 2 ground-truth factor"):
        METRICS["beta_vae"](grid, td.disentangled(grid))


def test_irs_with_constant_factor_is_defined():
    grid = td.ToyGrid((3, 1, 4), None)
    result = METRICS["irs"](grid, td.disentangled(grid))
    assert 0.0 <= result["IRS"] <= 1.0


# --- degenerate representations ------------------------------------------------------------
def single_latent(grid):
    base = td.disentangled(grid)
    return lambda x: base(x)[:, :1]


def test_mig_single_latent_gap_is_its_information(data):
    """dlib indexes a second latent that does not exist; ours: I(z; v) - 0, over H(v)."""
    fn = single_latent(data)
    score = ours.compute_mig(data, fn, np.random.RandomState(0), num_train=400, **HIST)["discrete_mig"]
    mus, ys = utils.generate_batch_factor_code(data, fn, 400, np.random.RandomState(0), 16)
    m = utils.discrete_mutual_info(ours.histogram_discretize(mus, 20), ys)
    assert score == pytest.approx(np.mean(m[0] / utils.discrete_entropy(ys)), abs=1e-12)
    bind_dlib()
    with pytest.raises(IndexError):
        import_dlib(DLIB + "mig").compute_mig(data, fn, np.random.RandomState(0), num_train=400)


def test_sap_single_latent_is_defined(data):
    result = ours.compute_sap(data, single_latent(data), np.random.RandomState(0), num_train=200, num_test=50,
                              continuous_factors=True)
    assert 0.0 < result["SAP_score"] < 1.0


def test_dci_single_factor_and_single_latent_are_defined():
    """dlib: entropy with base 1 is 0/0 = NaN. Ours: trivially 1."""
    grid = td.ToyGrid((4,), None)
    result = ours.compute_dci(grid, td.disentangled(grid), np.random.RandomState(0), num_train=60, num_test=20)
    assert result["disentanglement"] == pytest.approx(1.0)
    data = td.ToyGrid((3, 4, 5, 2), (0, 1, 2))
    result = ours.compute_dci(data, single_latent(data), np.random.RandomState(0), num_train=60, num_test=20)
    assert result["completeness"] == pytest.approx(1.0)
    assert all(np.isfinite(v) for v in result.values())


def test_dci_entropy_helpers_match_scipy():
    from scipy import stats
    rs = np.random.RandomState(0)
    importance = rs.rand(5, 3)
    importance[1] = 0.0
    expected = 1.0 - stats.entropy(importance.T + 1e-11, base=3)
    np.testing.assert_allclose(ours.dci.disentanglement_per_code(importance), expected, atol=1e-12)
    expected = 1.0 - stats.entropy(importance + 1e-11, base=5)
    np.testing.assert_allclose(ours.dci.completeness_per_factor(importance), expected, atol=1e-12)


def test_unsupervised_single_latent(data):
    result = ours.compute_unsupervised_metrics(data, single_latent(data), np.random.RandomState(0), num_train=100,
                                               **HIST)
    assert result["mutual_info_score"] == 0.0
    assert result["gaussian_total_correlation"] == 0.0
    assert result["gaussian_wasserstein_correlation"] == pytest.approx(0.0, abs=1e-12)


def test_total_correlation_leaves_out_constant_latents(data):
    """Equals dlib's formula on the covariance of the varying latents."""
    um = import_dlib(DLIB + "unsupervised_metrics")
    fn = td.partly_collapsed(data)
    result = ours.compute_unsupervised_metrics(data, fn, np.random.RandomState(0), num_train=300, **HIST)
    mus, _ = utils.generate_batch_factor_code(data, fn, 300, np.random.RandomState(0), 16)
    varying = np.cov(mus[[0, 3]])
    assert result["gaussian_total_correlation"] == pytest.approx(um.gaussian_total_correlation(varying), abs=1e-12)
    constant = ours.compute_unsupervised_metrics(data, td.constant(data), np.random.RandomState(0), num_train=50,
                                                 **HIST)
    assert constant == {"gaussian_total_correlation": 0.0, "gaussian_wasserstein_correlation": 0.0,
                        "gaussian_wasserstein_correlation_norm": 0.0, "mutual_info_score": 0.0}


def test_explicitness_with_constant_latents_equals_dlib_without_them(data):
    """Constant latents standardise to zeros and do not change the classifier."""
    me = import_dlib(DLIB + "modularity_explicitness")
    bind_dlib()
    collapsed = td.partly_collapsed(data)
    varying_only = lambda x: collapsed(x)[:, [0, 3]]
    kwargs = dict(num_train=300, num_test=100)
    actual = ours.compute_modularity_explicitness(data, collapsed, np.random.RandomState(0), **kwargs, **HIST)
    expected = me.compute_modularity_explicitness(data, varying_only, np.random.RandomState(0), **kwargs)
    for key in ("explicitness_score_train", "explicitness_score_test"):
        assert actual[key] == pytest.approx(expected[key], abs=1e-6)
    # Modularity: the two constant codes score 0 (as in dlib's own rule), the others as dlib.
    assert actual["modularity_score"] == pytest.approx(expected["modularity_score"] / 2, abs=1e-12)
    constant = ours.compute_modularity_explicitness(data, td.constant(data), np.random.RandomState(0), **kwargs,
                                                    **HIST)
    assert constant == {"modularity_score": 0.0, "explicitness_score_train": 0.5, "explicitness_score_test": 0.5}


def test_modularity_single_factor():
    assert ours.modularity_explicitness.modularity(np.array([[0.5], [0.0], [0.2]])) == pytest.approx(2 / 3)


def test_explicitness_with_class_missing_from_test_set():
    """dlib fails on mismatched label binarisations; ours scores the classes both sets share."""
    rs = np.random.RandomState(0)
    mus_train = rs.randn(2, 90)
    y_train = np.repeat([0, 1, 2], 30)
    mus_train[0] += y_train
    y_test = np.repeat([0, 1], 20)
    mus_test = rs.randn(2, 40)
    mus_test[0] += y_test
    train, test = ours.modularity_explicitness.explicitness_per_factor(mus_train, y_train, mus_test, y_test)
    assert 0.5 < train <= 1.0 and 0.5 < test <= 1.0


def test_normalize_data_zero_std():
    data = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    normalised, mean, std = utils.normalize_data(data)
    assert np.all(normalised[1] == 0) and std[1] == 0
    np.testing.assert_allclose(normalised[0], (data[0] - 2) / np.std(data[0]))


def test_information_handles_empty_and_single_values():
    from rpu_tf.metrics import information
    assert information.mutual_info_matrix(np.zeros((2, 0)), np.zeros((3, 0))).shape == (2, 3)
    a = np.array([[1, 1, 1, 1], [0, 1, 0, 1]])
    np.testing.assert_allclose(information.mutual_info_matrix(a, a), [[0, 0], [0, np.log(2)]], atol=1e-15)
    np.testing.assert_allclose(information.entropy(a), [0, np.log(2)], atol=1e-15)


def test_mig_gaps_name_each_factors_gap_and_agree_with_mig(data):
    fn = td.disentangled(data)
    gaps = ours.compute_mig_gaps(data, fn, np.random.RandomState(0), num_train=200, **HIST)
    mig = ours.compute_mig(data, fn, np.random.RandomState(0), num_train=200, **HIST)
    assert gaps["discrete_mig"] == mig["discrete_mig"]
    per_factor = {k: v for k, v in gaps.items() if k.startswith("gap.")}
    assert sorted(per_factor) == ["gap.factor_0", "gap.factor_1", "gap.factor_2"]  # ToyGrid has no names
    assert np.mean(list(per_factor.values())) == pytest.approx(mig["discrete_mig"])
    # Codes that carry only factor 0: its gap stays, the others' vanish.
    only_first = lambda x: fn(x)[:, :1]
    one = ours.compute_mig_gaps(data, only_first, np.random.RandomState(0), num_train=200, **HIST)
    assert one["gap.factor_0"] > 0.5 and one["gap.factor_1"] < 0.1 and one["gap.factor_2"] < 0.1
