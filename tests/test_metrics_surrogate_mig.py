"""MIG on partial surrogate labels (final rPU-VAE run): definition, nesting, sampling, errors."""

from __future__ import annotations

import gin
import numpy as np
import pytest

from tests.helpers import metric_testdata as td
from tests.helpers.dlib_oracle import import_dlib

from rpu_tf.metrics import compute_surrogate_mig, histogram_discretize, mig, utils

HIST = dict(discretizer_fn=histogram_discretize, num_bins=20)
DLIB = "disentanglement_lib.evaluation.metrics."


pytestmark = pytest.mark.usefixtures("clean_gin")


@pytest.fixture(scope="module")
def grid():
    # 5 x 6 x 7 = 210 observations, every grid factor a ground-truth factor.
    return td.ToyGrid((5, 6, 7), None)


class Recorder:
    """Wraps a representation function and records the batch sizes it was called with."""

    def __init__(self, fn):
        self.fn, self.batches = fn, []

    def __call__(self, x):
        self.batches.append(len(x))
        return self.fn(x)


def clean(grid):
    """Disentangled codes without the uninformative latent: one latent per factor."""
    base = td.disentangled(grid)
    return lambda x: base(x)[:, :3]


def codes_on(grid, fn, indices):
    return fn(grid.observations_from_indices(indices))


def block_gaps(grid, fn, indices, labels):
    """Independent per-block computation from the documented definition."""
    z = codes_on(grid, fn, indices)
    dz = histogram_discretize(z.T, 20)
    dy = histogram_discretize(np.asarray(labels, dtype=np.float64).reshape(len(indices), -1).T, 20)
    m = utils.discrete_mutual_info(dz, dy)
    h = utils.discrete_entropy(dy)
    top = np.sort(m, axis=0)[::-1]
    return (top[0] - top[1]) / h


def nested_leaf_runs(grid):
    """Shared first block (all data, label = factor-0 code), then nested subsets per leaf-run."""
    all_idx = np.arange(grid.num_observations)
    factors = grid.index_to_factors(all_idx)
    rng = np.random.RandomState(0)
    first = (all_idx, factors[:, 0] + 0.1 * rng.rand(len(all_idx)))  # continuous surrogate label
    leaf_runs = []
    for value in range(3):
        sub = all_idx[factors[:, 0] == value]  # reduce: factor 0 held (nearly) fixed
        sub_labels = np.stack([factors[sub, 1] * 0.5, np.sin(factors[sub, 2])], axis=1)
        inner = sub[grid.index_to_factors(sub)[:, 1] < 3]
        inner_labels = factors[inner, 2] * 1.0 + 0.01 * rng.rand(len(inner))
        leaf_runs.append([first, (sub, sub_labels), (inner, inner_labels)])
    return leaf_runs


def test_true_factor_labels_equal_mig_on_fixed_data(grid):
    """One leaf-run, one block, discrete true factors: dlib's MIG on those observations."""
    mig_dlib = import_dlib(DLIB + "mig")
    du = import_dlib(DLIB + "utils")
    gin.bind_parameter(DLIB + "utils.discretizer.num_bins", 20)
    gin.bind_parameter(DLIB + "utils.discretizer.discretizer_fn", du._histogram_discretize)
    indices = np.random.RandomState(1).choice(grid.num_observations, 150, replace=False)
    factors = grid.index_to_factors(indices)
    for rep in ("disentangled", "entangled", "noisy"):
        result = compute_surrogate_mig(grid, td.REPRESENTATIONS[rep](grid), np.random.RandomState(0),
                                       surrogate_labels=[[(indices, factors)]], discretize_labels=False, **HIST)
        expected = mig_dlib.compute_mig_on_fixed_data(grid.observations_from_indices(indices), factors.T,
                                                      td.REPRESENTATIONS[rep](grid), batch_size=64)
        assert result["surrogate_mig"] == pytest.approx(expected["discrete_mig"], abs=1e-6)
        assert result["leaf_run_scores"] == [result["surrogate_mig"]]


def test_nested_blocks_and_median_match_definition(grid):
    leaf_runs = nested_leaf_runs(grid)
    fn = td.disentangled(grid)
    result = compute_surrogate_mig(grid, fn, np.random.RandomState(0), surrogate_labels=leaf_runs, **HIST)
    expected_leaf = [float(np.mean(np.concatenate([block_gaps(grid, fn, i, y) for i, y in blocks])))
                     for blocks in leaf_runs]
    np.testing.assert_allclose(result["leaf_run_scores"], expected_leaf, atol=1e-12)
    assert result["surrogate_mig"] == pytest.approx(np.median(expected_leaf), abs=1e-12)
    assert 0.0 <= result["surrogate_mig"] <= 1.0


def test_disentangled_beats_entangled_on_own_surrogate_labels(grid):
    """Labels = a disentangled model's codes; that model scores high, an entangled one lower."""
    idx = np.arange(grid.num_observations)
    labels = codes_on(grid, clean(grid), idx)
    leaf_runs = [[(idx, labels[:, :2])], [(idx, labels[:, 2])]]
    good = compute_surrogate_mig(grid, clean(grid), np.random.RandomState(0), surrogate_labels=leaf_runs,
                                 **HIST)["surrogate_mig"]
    bad = compute_surrogate_mig(grid, td.entangled(grid), np.random.RandomState(0), surrogate_labels=leaf_runs,
                                **HIST)["surrogate_mig"]
    assert good > 0.9 and bad < good - 0.3


def test_shared_block_encoded_once(grid):
    leaf_runs = nested_leaf_runs(grid)
    fn = Recorder(td.disentangled(grid))
    compute_surrogate_mig(grid, fn, np.random.RandomState(0), surrogate_labels=leaf_runs, batch_size=1000, **HIST)
    unique_sizes = [len(leaf_runs[0][0][0])] + [len(b[0]) for blocks in leaf_runs for b in blocks[1:]]
    assert sorted(fn.batches) == sorted(unique_sizes)


def test_batch_size_is_used_and_does_not_change_the_score(grid):
    leaf_runs = nested_leaf_runs(grid)
    scores = []
    for batch_size in (7, 64):
        fn = Recorder(td.disentangled(grid))
        scores.append(compute_surrogate_mig(grid, fn, np.random.RandomState(0), surrogate_labels=leaf_runs,
                                            batch_size=batch_size, **HIST))
        assert max(fn.batches) == batch_size
    assert scores[0] == scores[1]


def test_num_train_subsamples_without_replacement(grid):
    leaf_runs = nested_leaf_runs(grid)
    smallest = min(len(b[0]) for blocks in leaf_runs for b in blocks)
    fn = Recorder(td.disentangled(grid))
    a = compute_surrogate_mig(grid, fn, np.random.RandomState(5), surrogate_labels=leaf_runs, num_train=smallest,
                              batch_size=10 ** 6, **HIST)
    assert set(fn.batches) == {smallest}
    b = compute_surrogate_mig(grid, td.disentangled(grid), np.random.RandomState(5), surrogate_labels=leaf_runs,
                              num_train=smallest, **HIST)
    assert a == b  # deterministic given the seed
    with pytest.raises(ValueError, match="exceeds its .* labelled observations"):
        compute_surrogate_mig(grid, td.disentangled(grid), np.random.RandomState(5), surrogate_labels=leaf_runs,
                              num_train=smallest + 1, **HIST)


def test_single_labelled_factor(grid):
    all_idx = np.arange(grid.num_observations)
    idx = all_idx[grid.index_to_factors(all_idx)[:, 0] < 2]  # a sub-grid: factors stay independent
    label = grid.index_to_factors(idx)[:, 1] * 0.3
    one_d = compute_surrogate_mig(grid, clean(grid), np.random.RandomState(0),
                                  surrogate_labels=[[(idx, label)]], **HIST)
    two_d = compute_surrogate_mig(grid, clean(grid), np.random.RandomState(0),
                                  surrogate_labels=[[(idx, label[:, None])]], **HIST)
    assert one_d == two_d and one_d["surrogate_mig"] > 0.9


def test_constant_label_column_left_out(grid, caplog):
    idx = np.arange(grid.num_observations)
    varying = grid.index_to_factors(idx)[:, 2] * 1.0
    labels = np.stack([varying, np.full(len(idx), 3.0)], axis=1)
    with caplog.at_level("WARNING"):
        with_constant = compute_surrogate_mig(grid, td.disentangled(grid), np.random.RandomState(0),
                                              surrogate_labels=[[(idx, labels)]], **HIST)
    assert "single value" in caplog.text
    alone = compute_surrogate_mig(grid, td.disentangled(grid), np.random.RandomState(0),
                                  surrogate_labels=[[(idx, varying)]], **HIST)
    assert with_constant == alone
    with pytest.raises(ValueError, match="leaf-run 1 has no label column"):
        compute_surrogate_mig(grid, td.disentangled(grid), np.random.RandomState(0),
                              surrogate_labels=[[(idx, varying)], [(idx, labels[:, 1])]], **HIST)


@pytest.mark.parametrize("labels,match", [
    ([], "empty"),
    (np.zeros((2, 2)), "must be a list"),
    ([[]], "non-empty list"),
    ([[(np.arange(5),)]], "non-empty list"),
    ([[(np.arange(5), np.zeros(4))]], r"shape \(5, L\)"),
    ([[(np.arange(5), np.array([0.0, 1.0, np.nan, 2.0, 3.0]))]], "finite"),
    ([[(np.array([0, 1, 999]), np.zeros(3))]], "out of range"),
    ([[(np.array([3]), np.zeros(1))]], "at least 2"),
])
def test_malformed_input(grid, labels, match):
    with pytest.raises(ValueError, match=match):
        compute_surrogate_mig(grid, td.disentangled(grid), np.random.RandomState(0), surrogate_labels=labels, **HIST)


def test_needs_finite_data_set():
    class Infinite:
        num_factors = 1
    with pytest.raises(TypeError, match="FiniteGroundTruthData"):
        compute_surrogate_mig(Infinite(), lambda x: x, np.random.RandomState(0),
                              surrogate_labels=[[(np.arange(3), np.arange(3.0))]], **HIST)


def test_bad_representation_rejected(grid):
    from rpu_tf.metrics import RepresentationError
    with pytest.raises(RepresentationError, match="NaN"):
        compute_surrogate_mig(grid, lambda x: np.full((len(x), 2), np.nan), np.random.RandomState(0),
                              surrogate_labels=[[(np.arange(10), np.arange(10.0))]], **HIST)


def test_normalised_gaps_single_latent():
    gaps = mig.normalised_gaps(np.array([[0.4, 0.0]]), np.array([0.8, 0.0]))
    assert gaps[0] == pytest.approx(0.5) and np.isnan(gaps[1])
