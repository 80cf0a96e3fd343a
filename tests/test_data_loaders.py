"""dSprites and 3dshapes loaders on small files in the public formats."""

import os
import pickle

import numpy as np
import pytest

from rpu_tf.data import DSprites, Shapes3D, get_named_ground_truth_data
from tests.helpers.data_helpers import (
    SMALL_DSPRITES_SIZES,
    SMALL_SHAPES3D_SIZES,
    write_small_dsprites,
    write_small_shapes3d,
)


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(tmp_path))
    return tmp_path


DSPRITES_REL = os.path.join("dsprites", "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz")


@pytest.mark.parametrize("compressed", [True, False])
def test_dsprites_reads_the_file_layout_under_the_data_root(data_root, compressed):
    imgs = write_small_dsprites(str(data_root / DSPRITES_REL), compressed=compressed)
    data = get_named_ground_truth_data("dsprites_full")
    assert data.factors_num_values == SMALL_DSPRITES_SIZES[1:]
    assert data.observation_shape == [64, 64, 1]
    assert data.num_observations == imgs.shape[0]
    idx = np.array([0, 5, 17, imgs.shape[0] - 1, 5])
    x = data.observations_from_indices(idx)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x[..., 0], imgs[idx].astype(np.float32))
    factors, obs = data.sample(30, np.random.RandomState(0))
    np.testing.assert_array_equal(obs[..., 0], imgs[data.factors_to_index(factors)])
    np.testing.assert_array_equal(data.index_to_factors(data.factors_to_index(factors)), factors)


def test_dsprites_noshape_samples_the_shape_at_random(data_root):
    write_small_dsprites(str(data_root / DSPRITES_REL))
    data = get_named_ground_truth_data("dsprites_noshape")
    assert data.factors_num_values == SMALL_DSPRITES_SIZES[2:]
    with pytest.raises(ValueError, match="not ground-truth factors"):
        data.factors_to_index(np.zeros((1, 4), np.int64))
    obs = data.sample_observations(40, np.random.RandomState(0))
    assert obs.shape == (40, 64, 64, 1)


def test_missing_dsprites_file_names_path_env_var_and_source(data_root):
    with pytest.raises(FileNotFoundError) as err:
        get_named_ground_truth_data("dsprites_full")
    msg = str(err.value)
    assert str(data_root / DSPRITES_REL) in msg
    assert "DISENTANGLEMENT_LIB_DATA" in msg
    assert "github.com/deepmind/dsprites-dataset" in msg


def _rewrite(path, **arrays):
    with np.load(path, allow_pickle=True) as d:
        content = {k: d[k] for k in d.keys()}
    content.update(arrays)
    for k in [k for k, v in content.items() if v is None]:
        del content[k]
    np.savez(path, **content)


@pytest.mark.parametrize("change, match", [
    ({"imgs": None}, "no array 'imgs'"),
    ({"latents_classes": None}, "no array 'latents_classes'"),
    ({"imgs": np.full((384, 64, 64), 3, np.uint8)}, "binary"),
    ({"imgs": np.zeros((384, 64, 64), np.float32)}, "uint8"),
    ({"imgs": np.zeros((10, 64, 64), np.uint8)}, "shape"),
    ({"latents_classes": np.zeros((384, 6), np.int64)}, "row-major factor grid"),
    ({"latents_classes": np.zeros((384,), np.int64)}, "2-D integer"),
])
def test_malformed_dsprites_files_raise_value_errors(tmp_path, change, match):
    path = str(tmp_path / "d.npz")
    write_small_dsprites(path)
    _rewrite(path, **change)
    with pytest.raises(ValueError, match=match):
        DSprites(data_path=path)


def test_not_a_zip_file_is_a_value_error(tmp_path):
    path = tmp_path / "d.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not an .npz"):
        DSprites(data_path=str(path))


def test_dsprites_keeps_images_bit_packed(data_root):
    imgs = write_small_dsprites(str(data_root / DSPRITES_REL))
    data = DSprites()
    assert data._packed.nbytes * 8 == imgs.nbytes


def test_shapes3d_reads_the_public_h5_layout_lazily(data_root):
    path = data_root / "3dshapes" / "3dshapes.h5"
    imgs = write_small_shapes3d(str(path))
    data = get_named_ground_truth_data("shapes3d")
    assert data.factors_num_values == SMALL_SHAPES3D_SIZES
    assert data.observation_shape == [64, 64, 3]
    idx = np.array([7, 3, 3, 0, imgs.shape[0] - 1])  # unsorted, repeated
    x = data.observations_from_indices(idx)
    assert x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    np.testing.assert_allclose(x, imgs[idx].astype(np.float32) / 255, atol=0)
    factors, obs = data.sample(25, np.random.RandomState(1))
    np.testing.assert_array_equal(obs, imgs[data.factors_to_index(factors)].astype(np.float32) / 255)
    values = data.factor_values(factors)
    assert values.shape == (25, 6) and np.all(values[:, 3] >= 0.75)
    # Pickles without the open h5 handle (for worker processes) and reads again after.
    clone = pickle.loads(pickle.dumps(data))
    np.testing.assert_array_equal(clone.observations_from_indices(idx), x)
    in_mem = Shapes3D(in_memory=True)
    np.testing.assert_array_equal(in_mem.observations_from_indices(idx), x)


def test_missing_shapes3d_file_message(data_root):
    with pytest.raises(FileNotFoundError, match=r"3dshapes\.h5.*DISENTANGLEMENT_LIB_DATA.*3d-shapes"):
        Shapes3D()


def test_malformed_shapes3d_files(tmp_path):
    import h5py

    path = str(tmp_path / "s.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=np.zeros((4, 64, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="no dataset 'labels'"):
        Shapes3D(data_path=path)
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=np.zeros((4, 64, 64, 3), np.float32))
        f.create_dataset("labels", data=np.zeros((4, 6)))
    with pytest.raises(ValueError, match="uint8"):
        Shapes3D(data_path=path)
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=np.zeros((4, 64, 64, 3), np.uint8))
        f.create_dataset("labels", data=np.zeros((4, 6)))
    with pytest.raises(ValueError, match="row-major factor grid"):
        Shapes3D(data_path=path)
    bad = tmp_path / "x.h5"
    bad.write_bytes(b"nope")
    with pytest.raises(ValueError, match="HDF5"):
        Shapes3D(data_path=str(bad))
