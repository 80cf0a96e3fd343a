"""Data sets by name through gin, and the variants."""

import numpy as np
import pytest

from rpu_tf.data import ColorVariant, NoisyVariant, Sprites, get_named_ground_truth_data, known_dataset_names


def test_gin_selects_and_configures_the_data_set():
    import gin

    gin.clear_config()
    try:
        gin.parse_config(['dataset.name = "sprites"', "sprites.num_positions_x = 8"])
        data = get_named_ground_truth_data()
        assert isinstance(data, Sprites)
        assert data.factors_num_values == [3, 6, 40, 8, 32]
    finally:
        gin.clear_config()


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError) as err:
        get_named_ground_truth_data("dsprites")
    for name in ("sprites", "dsprites_full", "shapes3d", "images", "celeba"):
        assert name in str(err.value)
    assert set(known_dataset_names()) >= {"sprites", "color_sprites", "noisy_sprites", "dsprites_full"}


@pytest.mark.parametrize("name, cls", [("color_sprites", ColorVariant), ("noisy_sprites", NoisyVariant)])
def test_colour_and_noise_variants_follow_dlib_formulas(name, cls):
    data = get_named_ground_truth_data(name)
    assert isinstance(data, cls) and data.observation_shape == [64, 64, 3]
    factors, x = data.sample(8, np.random.RandomState(5))
    rs = np.random.RandomState(5)
    grey = Sprites().sample_observations_from_factors(Sprites().sample_factors(8, rs), rs)
    if name == "color_sprites":
        colour = rs.uniform(0.5, 1, [8, 1, 1, 3])
        np.testing.assert_allclose(x, grey * colour, atol=1e-7)
    else:
        np.testing.assert_allclose(x, np.minimum(grey + rs.uniform(0, 1, [8, 64, 64, 3]), 1.0), atol=1e-7)
    assert x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1
    # Finite index and descriptive helpers come from the base.
    assert data.num_observations == 737280
    assert data.factor_names[0] == "shape"
    with pytest.raises(ValueError, match="single-channel"):
        cls(data)
