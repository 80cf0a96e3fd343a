"""ReducedData: subsets of finite data sets with surrogate labels."""

import numpy as np
import pytest

from rpu_tf.data import ColorVariant, ImageArray, ReducedData, Sprites, UnlabelledDataError


@pytest.fixture(scope="module")
def small():
    return Sprites(num_scales=2, num_orientations=3, num_positions_x=4, num_positions_y=4)


def test_samples_only_inside_the_subset_and_keeps_factors(small):
    keep = np.arange(small.num_observations)[small.index_to_factors(np.arange(small.num_observations))[:, 0] == 2]
    red = ReducedData(small, keep)
    assert red.num_observations == keep.size
    assert red.factors_num_values == small.factors_num_values
    factors, obs = red.sample(200, np.random.RandomState(0))
    assert np.all(factors[:, 0] == 2)
    np.testing.assert_array_equal(obs, small.sample_observations_from_factors(factors, None))
    np.testing.assert_array_equal(red.sample_observations(200, np.random.RandomState(0)), obs)
    np.testing.assert_array_equal(red.index_to_factors([0, 1]), small.index_to_factors(keep[:2]))
    np.testing.assert_array_equal(red.factors_to_index(small.index_to_factors(keep[[5, 2]])), [5, 2])
    with pytest.raises(ValueError, match="not in the subset"):
        red.factors_to_index(small.index_to_factors([0]))


def test_nested_reduction_maps_to_root_indices(small):
    first = ReducedData(small, np.arange(10, 60))
    second = ReducedData(first, [0, 7, 49])
    assert second.root is small
    np.testing.assert_array_equal(second.root_indices, [10, 17, 59])
    np.testing.assert_array_equal(second.observations_from_indices([1]), small.observations_from_indices([17]))


def test_surrogate_labels_per_kept_observation(small):
    keep = np.array([3, 9, 11, 40])
    labels = np.array([[0.1, 1.0], [0.2, 2.0], [0.3, 3.0], [0.4, 4.0]])
    red = ReducedData(small, keep, labels)
    assert red.num_labels == 2
    np.testing.assert_array_equal(red.labels_from_indices([2, 0]), labels[[2, 0]])
    lab, obs = red.sample_labelled(30, np.random.RandomState(2))
    pos = np.random.RandomState(2).randint(4, size=30)
    np.testing.assert_array_equal(lab, labels[pos])
    np.testing.assert_array_equal(obs, small.observations_from_indices(keep[pos]))
    one = red.with_labels(np.arange(4.0))
    assert one.num_labels == 1 and one.labels.shape == (4, 1)
    with pytest.raises(ValueError, match="no surrogate labels"):
        ReducedData(small, keep).sample_labelled(2, np.random.RandomState(0))


def test_unlabelled_base_supports_observations_only(tmp_path):
    np.savez(tmp_path / "x.npz", np.random.RandomState(0).randint(0, 255, (6, 8, 8), dtype=np.uint8))
    base = ImageArray(str(tmp_path / "x.npz"), image_size=8, num_channels=1)
    red = ReducedData(base, [1, 4], labels=[[0.5], [0.7]])
    assert red.num_factors == 0
    assert red.sample_observations(3, np.random.RandomState(0)).shape == (3, 8, 8, 1)
    with pytest.raises(UnlabelledDataError):
        red.sample_factors(3, np.random.RandomState(0))


def test_stochastic_variants_inside_a_subset(small):
    red = ReducedData(ColorVariant(small), [0, 1, 2])
    x = red.observations_from_indices([0, 1], np.random.RandomState(0))
    assert x.shape == (2, 64, 64, 3)


@pytest.mark.parametrize("indices, labels, match", [
    ([], None, "empty"),
    ([0, 0], None, "duplicates"),
    ([-1], None, "out of range"),
    ([10**6], None, "out of range"),
    ([[0, 1]], None, "1-D"),
    ([0.5], None, "integers"),
    ([0, 1], [[1.0]], "one row per kept index"),
    ([0, 1], [np.nan, 1.0], "NaN"),
    ([0, 1], ["a", "b"], "real numbers"),
])
def test_bad_subsets_and_labels(small, indices, labels, match):
    with pytest.raises(ValueError, match=match):
        ReducedData(small, indices, labels)


def test_base_without_finite_index_is_refused():
    from rpu_tf.data import GroundTruthData

    with pytest.raises(ValueError, match="finite index"):
        ReducedData(GroundTruthData(), [0])
