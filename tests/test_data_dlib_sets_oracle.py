"""smallNORB, Cars3D, MPI3D and scream_dsprites against disentanglement_lib 1.5's own loaders.

Same small files, same ``RandomState``: the factors and observations must be equal value for
value. dlib's loaders were written for NumPy 1 and pillow < 7; each test applies only the
shims needed to run them unchanged on NumPy 2 and current pillow:

- ``PIL.Image.ANTIALIAS`` (removed in pillow 10) is ``LANCZOS``, the same filter;
- ``Image.thumbnail`` gets the first two elements of dlib's three-element sizes (pillow >= 7
  raises on three; older pillow read only two);
- norb's header reader calls ``int()`` on a one-element array, which NumPy 2 refuses: an
  ``int`` in that module's namespace takes the element;
- Cars3D lists its folder with ``gfile.ListDirectory`` (an unsorted listing): the sorted one.
"""

import builtins
import os
import types

import numpy as np
import pytest

from rpu_tf.data import MPI3D, Cars3D, DSprites, ScreamVariant, SmallNORB
from tests.helpers.data_helpers import (
    SMALL_NORB_SIZES,
    write_scream,
    write_small_cars,
    write_small_dsprites,
    write_small_mpi3d,
    write_small_norb,
)
from tests.helpers.dlib_oracle import import_dlib


@pytest.fixture
def pillow_shims(monkeypatch):
    from PIL import Image

    monkeypatch.setattr(Image, "ANTIALIAS", Image.LANCZOS, raising=False)
    thumbnail = Image.Image.thumbnail
    monkeypatch.setattr(Image.Image, "thumbnail", lambda self, size, *a, **k: thumbnail(self, tuple(size)[:2], *a, **k))


def test_smallnorb_matches_dlib_reading_resizing_and_sampling(tmp_path, monkeypatch, pillow_shims):
    norb = import_dlib("disentanglement_lib.data.ground_truth.norb")
    util = import_dlib("disentanglement_lib.data.ground_truth.util")
    monkeypatch.setattr(norb, "int", lambda x: builtins.int(np.asarray(x).reshape(-1)[0]), raising=False)
    folder = str(tmp_path / "small_norb")
    write_small_norb(folder, constant=False, image_size=24)
    images, features = norb._load_small_norb_chunks(os.path.join(folder, "smallnorb-{}-{}.mat"),
                                                    norb.SMALLNORB_CHUNKS)
    ours = SmallNORB(data_dir=folder)
    x = ours._observations_from_all_factors(features.astype(np.int64), None)[..., 0]
    # dlib keeps the resize's overshoot outside [0, 1]; ours clips it, and is equal elsewhere.
    outside = (images < 0) | (images > 1)
    assert outside.any() and outside.mean() < 0.05
    np.testing.assert_array_equal(x, np.clip(images, 0, 1).astype(np.float32))
    # dlib's SmallNORB over this grid (its __init__ with the small grid's sizes).
    theirs = norb.SmallNORB.__new__(norb.SmallNORB)
    theirs.images, theirs.factor_sizes, theirs.latent_factor_indices = images, SMALL_NORB_SIZES, [0, 2, 3, 4]
    theirs.num_total_factors = features.shape[1]
    theirs.index = util.StateSpaceAtomIndex(SMALL_NORB_SIZES, features)
    theirs.state_space = util.SplitDiscreteStateSpace(SMALL_NORB_SIZES, [0, 2, 3, 4])
    assert ours.factors_num_values == theirs.factors_num_values
    assert ours.observation_shape == theirs.observation_shape
    f_ours, x_ours = ours.sample(60, np.random.RandomState(3))
    f_theirs, x_theirs = theirs.sample(60, np.random.RandomState(3))
    np.testing.assert_array_equal(f_ours, f_theirs)
    np.testing.assert_array_equal(x_ours, np.clip(x_theirs, 0, 1))


def test_cars3d_matches_dlib(tmp_path, monkeypatch, pillow_shims):
    cars3d = import_dlib("disentanglement_lib.data.ground_truth.cars3d")
    folder = str(tmp_path / "cars")
    write_small_cars(folder, num_cars=2, constant=False)
    monkeypatch.setattr(cars3d, "CARS3D_PATH", folder)
    monkeypatch.setattr(cars3d, "gfile", types.SimpleNamespace(ListDirectory=lambda p: sorted(os.listdir(p)),
                                                               Open=open))
    theirs = cars3d.Cars3D()  # room for 183 cars; the two written fill object types 0 and 1
    ours = Cars3D(data_dir=folder)
    assert ours.observation_shape == theirs.observation_shape == [64, 64, 3]
    assert ours.factors_num_values[:2] == theirs.factors_num_values[:2]
    rs = np.random.RandomState(0)
    factors = np.stack([rs.randint(4, size=80), rs.randint(24, size=80), rs.randint(2, size=80)], axis=1)
    x_ours = ours.sample_observations_from_factors(factors, np.random.RandomState(1))
    x_theirs = theirs.sample_observations_from_factors(factors, np.random.RandomState(1))
    assert x_ours.dtype == x_theirs.dtype == np.float32
    np.testing.assert_array_equal(x_ours, x_theirs)


@pytest.mark.parametrize("mode, num", [("mpi3d_toy", 460800), ("mpi3d_real", 1036800)])
def test_mpi3d_matches_dlib(tmp_path, monkeypatch, mode, num):
    mpi3d = import_dlib("disentanglement_lib.data.ground_truth.mpi3d")
    monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(tmp_path))
    write_small_mpi3d(str(tmp_path / mode / f"{mode}.npz"), num=num)
    theirs = mpi3d.MPI3D(mode=mode)
    ours = MPI3D(mode)
    assert ours.factors_num_values == theirs.factors_num_values
    f_ours, x_ours = ours.sample(100, np.random.RandomState(4))
    f_theirs, x_theirs = theirs.sample(100, np.random.RandomState(4))
    np.testing.assert_array_equal(f_ours, f_theirs)
    assert x_theirs.dtype == np.float64  # dlib's images / 255.
    np.testing.assert_array_equal(x_ours, x_theirs.astype(np.float32))


@pytest.mark.parametrize("picture", ["fits", "shrunk"])
def test_scream_dsprites_matches_dlib(tmp_path, monkeypatch, pillow_shims, picture):
    dsprites = import_dlib("disentanglement_lib.data.ground_truth.dsprites")
    dsprites_path = str(tmp_path / "dsprites" / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz")
    scream_path = str(tmp_path / "scream" / "scream.jpg")
    write_small_dsprites(dsprites_path)
    if picture == "fits":
        write_scream(scream_path, size=(120, 100))
    else:  # shrunk to 350 x 274; a PNG, as dlib's thumbnail decodes JPEGs at reduced scale only on pillow < 7
        write_scream(scream_path, size=(700, 548), fmt="PNG")
    monkeypatch.setattr(dsprites, "DSPRITES_PATH", dsprites_path)
    monkeypatch.setattr(dsprites, "SCREAM_PATH", scream_path)
    theirs = dsprites.ScreamDSprites([1, 2, 3, 4, 5])
    ours = ScreamVariant(DSprites([1, 2, 3, 4, 5], data_path=dsprites_path), data_path=scream_path)
    np.testing.assert_array_equal(ours.scream, theirs.scream)
    assert list(ours.observation_shape) == list(theirs.observation_shape)
    f_ours, x_ours = ours.sample(40, np.random.RandomState(5))
    f_theirs, x_theirs = theirs.sample(40, np.random.RandomState(5))
    np.testing.assert_array_equal(f_ours, f_theirs)
    assert x_ours.dtype == x_theirs.dtype == np.float32
    np.testing.assert_array_equal(x_ours, x_theirs)
