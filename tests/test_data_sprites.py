"""Properties of the built-in procedural sprites renderer."""

import itertools

import numpy as np
import pytest

from rpu_tf.data import Sprites


@pytest.fixture(scope="module")
def sprites():
    return Sprites()


def _render(sprites, rows):
    return sprites.render(np.asarray(rows, dtype=np.int64))[..., 0]


def test_interface_matches_dsprites_full(sprites):
    assert sprites.num_factors == 5
    assert sprites.factors_num_values == [3, 6, 40, 32, 32]
    assert sprites.observation_shape == [64, 64, 1]
    assert sprites.num_observations == 737280
    x = sprites.sample_observations(16, np.random.RandomState(0))
    assert x.shape == (16, 64, 64, 1) and x.dtype == np.float32
    assert set(np.unique(x)) <= {0.0, 1.0}


def test_same_factors_same_pixels_and_index_roundtrip(sprites):
    rs = np.random.RandomState(1)
    factors = sprites.sample_factors(100, rs)
    a = sprites.sample_observations_from_factors(factors, rs)
    b = Sprites().sample_observations_from_factors(factors[::-1], rs)[::-1]  # fresh cache, other order
    np.testing.assert_array_equal(a, b)
    idx = sprites.factors_to_index(factors)
    np.testing.assert_array_equal(sprites.index_to_factors(idx), factors)
    np.testing.assert_array_equal(sprites.observations_from_indices(idx), a)


def _equivalent_orientations(shape: str, k1: int, k2: int, n: int = 40) -> bool:
    period = {"square": n // 4, "ellipse": n // 2, "heart": n}[shape]
    return (k1 - k2) % period == 0


def test_every_one_factor_change_changes_the_image(sprites):
    """Up to the square's 90-degree and the ellipse's 180-degree rotational symmetry."""
    sizes = sprites.factors_num_values
    for shape, scale in itertools.product(range(3), range(6)):
        rows = []
        for k in range(sizes[2]):
            rows.append([shape, scale, k, 15, 15])
        imgs = _render(sprites, rows)
        name = sprites.shapes[shape]
        for k1, k2 in itertools.combinations(range(sizes[2]), 2):
            if not _equivalent_orientations(name, k1, k2):
                assert not np.array_equal(imgs[k1], imgs[k2]), (name, scale, k1, k2)
    for factor in (0, 1, 3, 4):
        rows = []
        for v in range(sizes[factor]):
            row = [2, 3, 7, 10, 20]
            row[factor] = v
            rows.append(row)
        imgs = _render(sprites, rows)
        flat = imgs.reshape(len(rows), -1)
        assert len({r.tobytes() for r in flat}) == len(rows), f"factor {factor}"


def test_centre_of_mass_follows_position(sprites):
    grid = np.arange(64) + 0.5
    for shape, orient in [(0, 3), (1, 11), (2, 0), (2, 27)]:
        xs = _render(sprites, [[shape, 4, orient, x, 9] for x in range(32)])
        ys = _render(sprites, [[shape, 4, orient, 22, y] for y in range(32)])
        com_x = (xs.sum(axis=1) * grid).sum(axis=1) / xs.sum(axis=(1, 2))
        com_y = (ys.sum(axis=2) * grid).sum(axis=1) / ys.sum(axis=(1, 2))
        # Moving one position step moves the sprite by exactly one pixel.
        np.testing.assert_allclose(np.diff(com_x), 1.0, atol=1e-9)
        np.testing.assert_allclose(np.diff(com_y), 1.0, atol=1e-9)
        # And the other coordinate does not move.
        com_y_of_xs = (xs.sum(axis=2) * grid).sum(axis=1) / xs.sum(axis=(1, 2))
        np.testing.assert_allclose(com_y_of_xs, com_y_of_xs[0], atol=1e-9)


def test_area_grows_with_scale(sprites):
    for shape, orient in itertools.product(range(3), (0, 5, 13, 30)):
        imgs = _render(sprites, [[shape, s, orient, 16, 16] for s in range(6)])
        area = imgs.sum(axis=(1, 2))
        assert np.all(np.diff(area) > 0), (shape, orient, area)
        assert area[0] > 10  # even the smallest sprite is visible


def test_sprite_stays_inside_the_image_at_the_extremes(sprites):
    corners = [[s, 5, o, x, y] for s in range(3) for o in (0, 5, 15) for x in (0, 31) for y in (0, 31)]
    imgs = _render(sprites, corners)
    assert np.all(imgs[:, 0, :] == 0) and np.all(imgs[:, -1, :] == 0)
    assert np.all(imgs[:, :, 0] == 0) and np.all(imgs[:, :, -1] == 0)


def test_heart_has_no_rotational_symmetry_and_is_upright(sprites):
    up, down = _render(sprites, [[2, 5, 0, 15, 15], [2, 5, 20, 15, 15]])
    # 180 degrees is the point reflection about the sprite centre (pixel corner 31, 31):
    # pixel i maps to 61 - i.
    np.testing.assert_array_equal(np.roll(up[::-1, ::-1], -2, axis=(0, 1)), down)
    assert not np.array_equal(up, down)
    rows = np.nonzero(up.any(axis=1))[0]
    top, bottom = up[rows[0] + 1].sum(), up[rows[-1]].sum()
    assert top > bottom  # lobes on top, point at the bottom


def test_smaller_grids_through_arguments_and_gin():
    import gin

    small = Sprites(num_scales=2, num_orientations=3, num_positions_x=5, num_positions_y=3, image_size=32)
    assert small.factors_num_values == [3, 2, 3, 5, 3]
    assert small.observation_shape == [32, 32, 1]
    x = small.observations_from_indices(np.arange(small.num_observations))
    # 120-degree steps: no two orientations are symmetric copies, so every image differs.
    assert len({im.tobytes() for im in x}) == small.num_observations
    gin.clear_config()
    try:
        gin.parse_config(["sprites.num_orientations = 10", "sprites.shapes = ('heart',)"])
        s = Sprites()
        assert s.factors_num_values == [1, 6, 10, 32, 32]
    finally:
        gin.clear_config()


@pytest.mark.parametrize("kwargs, match", [
    ({"shapes": ("circle",)}, "shapes"),
    ({"num_scales": 0}, "num_scales"),
    ({"image_size": 8}, "image_size"),
    ({"scale_range": (0.0, 1.0)}, "scale_range"),
    ({"max_size": 0.6}, "max_size"),
    ({"max_size": 0.5, "image_size": 16}, "does not fit"),
])
def test_bad_settings_are_rejected_with_the_parameter_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Sprites(**kwargs)


def test_bad_factors_and_indices_raise_value_errors(sprites):
    with pytest.raises(ValueError, match="out of range"):
        sprites.sample_observations_from_factors(np.array([[0, 0, 40, 0, 0]]), np.random.RandomState(0))
    with pytest.raises(ValueError, match="shape"):
        sprites.sample_observations_from_factors(np.zeros((2, 4), np.int64), np.random.RandomState(0))
    with pytest.raises(ValueError, match="out of range"):
        sprites.observations_from_indices([737280])
    with pytest.raises(ValueError, match="integers"):
        sprites.index_to_factors([0.5])


def test_a_narrower_position_span_leaves_room_for_larger_sprites():
    from rpu_tf.data.sprites import Sprites

    with pytest.raises(ValueError, match="position_span"):
        Sprites(image_size=32, max_size=0.5)  # the middle half leaves no room for 16-pixel sprites
    data = Sprites(image_size=32, num_orientations=2, num_positions_x=4, num_positions_y=4, max_size=0.5,
                   position_span=0.25)
    factors = data.index_to_factors(np.arange(data.num_observations))
    centres = data.centres(factors)
    assert centres.min() == 12.0 and centres.max() == 19.0  # the middle quarter, 32 * 0.25 - 1 = 7 px
    images = data.render(factors)
    square = factors[:, 0] == 0
    big = square & (factors[:, 1] == factors[:, 1].max()) & (factors[:, 2] == 0)
    assert images[big].sum(axis=(1, 2, 3)).min() >= 15 * 15  # a scale-1 square is 16 pixels wide
    with pytest.raises(ValueError, match="position_span must be in"):
        Sprites(position_span=0.0)


def test_a_pickled_copy_is_small_renders_the_same_and_survives_read_only_arrays(sprites):
    import pickle

    factors = sprites.sample_factors(200, np.random.RandomState(0))
    before = sprites.sample_observations_from_factors(factors, np.random.RandomState(1))  # fills the cache
    # As Ray's object store does: pickle protocol 5, arrays out of band, handed back read-only.
    buffers = []
    blob = pickle.dumps(sprites, protocol=5, buffer_callback=buffers.append)
    assert len(blob) + sum(len(b.raw()) for b in buffers) < 64 * 1024  # settings, not the templates
    copy = pickle.loads(blob, buffers=[b.raw().toreadonly() for b in buffers])
    after = copy.sample_observations_from_factors(factors, np.random.RandomState(1))
    np.testing.assert_array_equal(after, before)
