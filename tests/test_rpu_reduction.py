"""reduce_indices on synthetic codes with a known step structure."""

import numpy as np
import pytest

from rpu_tf.rpu import active_latents, reduce_indices


def _clusters(centres, spreads, sizes, rs):
    """Codes made of clusters: cluster k has ``sizes[k]`` points uniform in centre +- spread."""
    values, labels = [], []
    for k, (c, s, n) in enumerate(zip(centres, spreads, sizes)):
        values.append(c + rs.uniform(-s, s, n))
        labels.append(np.full(n, k))
    values, labels = np.concatenate(values), np.concatenate(labels)
    perm = rs.permutation(values.size)
    return values[perm], labels[perm]


def test_one_latent_keeps_exactly_the_tightest_inner_cluster():
    rs = np.random.RandomState(0)
    # Seven well separated clusters; cluster 3 is the tightest of the inner ones.
    spreads = [0.2, 0.2, 0.2, 0.02, 0.2, 0.2, 0.2]
    codes, labels = _clusters(np.arange(7.0) * 3, spreads, [150] * 7, rs)
    result = reduce_indices(codes)
    assert result.found and result.reason is None
    np.testing.assert_array_equal(result.indices, np.flatnonzero(labels == 3))
    assert np.all(np.diff(result.indices) > 0)  # sorted
    # Every gap between clusters is a peak; nothing inside clusters is.
    assert result.latents[0].peaks.size == 6


def test_interval_contains_no_point_from_across_either_gap():
    rs = np.random.RandomState(1)
    codes, labels = _clusters([0.0, 5.0, 10.0, 15.0, 20.0], [0.3, 0.3, 0.01, 0.3, 0.3], [200] * 5, rs)
    for rank in range(3):
        kept = reduce_indices(codes, rank=rank).indices
        assert len(np.unique(labels[kept])) == 1  # one whole cluster, no neighbour
        assert kept.size == 200


def test_rank_selects_the_ith_best_interval():
    rs = np.random.RandomState(2)
    spreads = [0.3, 0.05, 0.1, 0.2, 0.3]
    codes, labels = _clusters(np.arange(5.0) * 4, spreads, [300] * 5, rs)
    chosen = [int(np.unique(labels[reduce_indices(codes, rank=r).indices])[0]) for r in range(3)]
    assert chosen == [1, 2, 3]  # inner clusters from tightest to loosest
    lat = reduce_indices(codes).latents[0]  # find_intervals with the paper's settings
    assert lat.scores == sorted(lat.scores, reverse=True)


def test_two_latents_intersect_to_one_grid_cell():
    rs = np.random.RandomState(3)
    a_lab = rs.randint(0, 6, 6000)
    b_lab = rs.randint(0, 5, 6000)
    a_spread = np.array([0.3, 0.3, 0.05, 0.3, 0.3, 0.3])[a_lab]
    b_spread = np.array([0.3, 0.3, 0.3, 0.04, 0.3])[b_lab]
    codes = np.stack([a_lab * 3 + rs.uniform(-1, 1, 6000) * a_spread,
                      b_lab * 3 + rs.uniform(-1, 1, 6000) * b_spread], axis=1)
    result = reduce_indices(codes)
    assert result.found
    kept = result.indices
    # The kept set is exactly one cell of the grid: a single (a, b) pair, all of its points.
    cells = set(zip(a_lab[kept], b_lab[kept]))
    assert len(cells) == 1
    (a, b), = cells
    np.testing.assert_array_equal(kept, np.flatnonzero((a_lab == a) & (b_lab == b)))
    # The tightest interval of each latent made it: cell (2, 3).
    assert (a, b) == (2, 3)
    assert result.num_candidates > 1
    other = reduce_indices(codes, rank=1).indices
    assert len(set(zip(a_lab[other], b_lab[other]))) == 1 and not np.array_equal(other, kept)
    # The paper's code's ordering (closest to the median size) is available and differs here.
    paper = reduce_indices(codes, intersection_order="median_size")
    assert paper.found and paper.num_candidates == result.num_candidates


def test_no_structure_in_evenly_spread_codes():
    # No gap stands out: jitter of +-10% of the spacing keeps every gap below the threshold.
    rs = np.random.RandomState(4)
    codes = np.arange(5000.0) + rs.uniform(-0.1, 0.1, 5000)
    result = reduce_indices(rs.permutation(codes)[:, None])
    assert not result.found and result.indices is None
    assert "no peak" in result.reason


def test_ties_discrete_codes_choose_the_larger_constant_interval():
    # Four exact code values (zero spread): all inner gaps are 0, every interval scores inf.
    codes = np.repeat([0.0, 1.0, 2.0, 3.0], [100, 400, 200, 100]).astype(float)
    rs = np.random.RandomState(5)
    perm = rs.permutation(codes.size)
    result = reduce_indices(codes[perm])
    assert result.found
    np.testing.assert_array_equal(np.sort(perm[result.indices]), np.arange(100, 500))
    assert np.all(codes[perm][result.indices] == 1.0)


def test_tiny_sets_end_the_branch_with_a_reason():
    assert "fewer than min_intersection_size" in reduce_indices(np.arange(4.0)).reason
    assert not reduce_indices(np.array([0.0, 0.1, 5.0, 5.1, 10.0, 10.1, 10.2])).found
    assert reduce_indices(np.zeros((10, 0))).reason == "no active latent"


def test_rank_beyond_the_candidates_is_no_structure():
    rs = np.random.RandomState(6)
    codes, _ = _clusters([0.0, 5.0, 10.0], [0.1, 0.1, 0.1], [100] * 3, rs)
    result = reduce_indices(codes, rank=10)
    assert not result.found and "rank 10" in result.reason


def test_interval_trim_drops_both_ends():
    rs = np.random.RandomState(7)
    codes, labels = _clusters(np.arange(5.0) * 4, [0.3, 0.3, 0.05, 0.3, 0.3], [200] * 5, rs)
    full = reduce_indices(codes).indices
    trimmed = reduce_indices(codes, interval_trim=0.1).indices
    assert trimmed.size == 160 and set(trimmed) < set(full)
    kept_codes = codes[trimmed]
    all_codes = np.sort(codes[full])
    assert kept_codes.min() == all_codes[20] and kept_codes.max() == all_codes[-21]


def test_active_latents_threshold_and_bad_input():
    np.testing.assert_array_equal(active_latents([0.01, 2.5, 0.9, 1.2]), [1, 3])
    np.testing.assert_array_equal(active_latents([0.01, 2.5], active_kl_threshold=0.005), [0, 1])
    with pytest.raises(ValueError, match="one value per latent"):
        active_latents(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        reduce_indices(np.array([0.0, np.nan] * 10))
    with pytest.raises(ValueError, match="rank"):
        reduce_indices(np.zeros(10), rank=-1)


def test_smoothed_gaps_is_a_centred_moving_mean():
    from rpu_tf.metrics.latent_codes import smoothed_gaps

    gaps = np.array([1.0, 1.0, 1.0, 4.0, 1.0, 1.0])
    np.testing.assert_allclose(smoothed_gaps(gaps, 1), gaps)
    np.testing.assert_allclose(smoothed_gaps(gaps, 3), [1.0, 1.0, 2.0, 2.0, 2.0, 1.0])
    # A window wider than the gaps shrinks at the ends: the mean of all of them in the middle.
    wide = smoothed_gaps(gaps, 50)
    assert wide.shape == gaps.shape and wide[3] == pytest.approx(gaps.mean())


def test_gap_smoothing_finds_the_boundaries_of_touching_clusters():
    # Eight factor values whose codes' clusters touch (std 0.22 of a unit step): the raw
    # gaps find spurious peaks inside clusters for some seeds; the smoothed ones find the
    # seven boundaries, and the kept set is one value, nearly all of it.
    spurious = 0
    for seed in range(3):
        rs = np.random.RandomState(seed)
        values = rs.randint(0, 8, 16000)
        codes = values + rs.normal(0.0, 0.22, values.size)
        spurious += reduce_indices(codes).latents[0].peaks.size != 7
        result = reduce_indices(codes, gap_smoothing_fraction=0.005, peak_height_std=3.0)
        assert result.latents[0].peaks.size == 7
        counts = np.bincount(values[result.indices], minlength=8)
        kept_value = int(np.argmax(counts))
        assert counts[kept_value] / counts.sum() >= 0.95
        assert counts[kept_value] / np.sum(values == kept_value) >= 0.95
    assert spurious >= 1
    with pytest.raises(ValueError, match="gap_smoothing_fraction"):
        reduce_indices(codes, gap_smoothing_fraction=0.5)


def test_greedy_latent_selection_cuts_on_the_clean_latents_where_all_of_them_keep_nothing():
    rs = np.random.RandomState(5)
    n = 6000
    a_lab, b_lab = rs.randint(0, 6, n), rs.randint(0, 5, n)
    a_spread = np.array([0.3, 0.3, 0.05, 0.3, 0.3, 0.3])[a_lab]
    b_spread = np.array([0.3, 0.3, 0.3, 0.04, 0.3])[b_lab]
    clean_a = a_lab * 3 + rs.uniform(-1, 1, n) * a_spread
    clean_b = b_lab * 3 + rs.uniform(-1, 1, n) * b_spread
    # A factor split over two latents: a second, noisy copy of a's code, and a coarse
    # factor whose codes are many small, fuzzy clusters (weak structure, fragments).
    split_a = a_lab * 3 + rs.normal(0, 0.9, n)
    coarse = rs.randint(0, 40, n) * 0.5 + rs.normal(0, 0.12, n)
    codes = np.stack([split_a, clean_a, clean_b, coarse], axis=1)
    paper = reduce_indices(codes)  # every latent intersected: the clean cell is cut to pieces
    assert not paper.found or paper.indices.size < 0.5 * np.sum((a_lab == 2) & (b_lab == 3))
    greedy = reduce_indices(codes, latent_selection="greedy")
    assert greedy.found and greedy.chosen[0] is None and greedy.chosen[3] is None
    np.testing.assert_array_equal(greedy.indices, np.flatnonzero((a_lab == 2) & (b_lab == 3)))  # one whole cell
    assert reduce_indices(codes, latent_selection="greedy", rank=1).found  # the next cell for leaf-run 2
    with pytest.raises(ValueError, match="latent_selection must be 'all' or 'greedy'"):
        reduce_indices(codes, latent_selection="best")
    with pytest.raises(ValueError, match=r"reduction.min_score_ratio must be in \[0, 1\], got 2"):
        reduce_indices(codes, latent_selection="greedy", min_score_ratio=2)
