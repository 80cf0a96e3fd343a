"""smallNORB, Cars3D, MPI3D and scream_dsprites loaders on small files in the public formats."""

import os
import pickle

import numpy as np
import pytest

from rpu_tf.data import MPI3D, Cars3D, ScreamVariant, SmallNORB, get_named_ground_truth_data, known_dataset_names
from rpu_tf.data.pil_images import legacy_thumbnail_size
from rpu_tf.data.scream import load_scream
from tests.helpers.data_helpers import (
    SMALL_NORB_SIZES,
    SMALLNORB_CHUNKS,
    write_norb_matrix,
    write_scream,
    write_small_cars,
    write_small_dsprites,
    write_small_mpi3d,
    write_small_norb,
)

DLIB_NAMES = ("dsprites_full", "dsprites_noshape", "color_dsprites", "noisy_dsprites", "scream_dsprites",
              "smallnorb", "cars3d", "mpi3d_toy", "mpi3d_realistic", "mpi3d_real", "shapes3d")


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(tmp_path))
    return tmp_path


def test_every_dlib_data_set_name_is_known():
    assert set(DLIB_NAMES) <= set(known_dataset_names())


# --- smallNORB ------------------------------------------------------------------------

def _norb_grid_index(sizes, factors5):
    return np.ravel_multi_index(tuple(np.asarray(factors5).T), sizes)


@pytest.mark.parametrize("compress", [False, True], ids=["mat", "mat.gz"])
def test_smallnorb_reads_dlib_layout_and_maps_labels_to_images(data_root, compress):
    written = write_small_norb(str(data_root / "small_norb"), compress=compress)
    data = get_named_ground_truth_data("smallnorb")
    sizes = SMALL_NORB_SIZES
    assert isinstance(data, SmallNORB) and data.name == "smallnorb"
    assert data.factors_num_values == [sizes[0], sizes[2], sizes[3], sizes[4]]
    assert data.factor_names == ["category", "elevation", "azimuth", "lighting"]
    assert data.observation_shape == [64, 64, 1]
    # Flat grey images stay flat through the resize: each grid point shows its own grey.
    grey = written["grid_images"][:, 0, 0]
    x = data._observations_from_all_factors(data.grid.index_to_all_factors(np.arange(grey.size)), None)
    assert x.shape == (grey.size, 64, 64, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x, np.broadcast_to((grey / 255.0).astype(np.float32)[:, None, None, None],
                                                     x.shape))
    # Sampling draws the latent factors, then the instance, as disentanglement_lib.
    factors, obs = data.sample(40, np.random.RandomState(3))
    rs = np.random.RandomState(3)
    for pos, i in enumerate([0, 2, 3, 4]):
        np.testing.assert_array_equal(factors[:, pos], rs.randint(sizes[i], size=40))
    instance = rs.randint(sizes[1], size=40)
    full = np.insert(factors, 1, instance, axis=1)
    np.testing.assert_array_equal(obs[:, 5, 7, 0], grey[_norb_grid_index(sizes, full)] / np.float32(255))


def test_smallnorb_resizes_the_first_camera_with_lanczos_in_32_bit_mode(data_root):
    from PIL import Image

    written = write_small_norb(str(data_root / "small_norb"), constant=False, image_size=20)
    data = SmallNORB()
    idx = np.array([0, 7, 23])
    x = data._observations_from_all_factors(data.grid.index_to_all_factors(idx), None)
    for row, i in zip(x, idx):
        big = np.asarray(Image.fromarray(written["grid_images"][i].astype(np.int32)).resize((64, 64), Image.LANCZOS))
        np.testing.assert_array_equal(row[..., 0], (np.clip(big, 0, 255) / 255.0).astype(np.float32))
    assert data._images.dtype == np.uint8 and data._images.shape == (int(np.prod(SMALL_NORB_SIZES)), 64, 64)


def test_missing_smallnorb_file_names_path_env_var_and_source(data_root):
    write_small_norb(str(data_root / "small_norb"))
    missing = data_root / "small_norb" / f"smallnorb-{SMALLNORB_CHUNKS[1]}-info.mat"
    os.remove(missing)
    with pytest.raises(FileNotFoundError) as err:
        get_named_ground_truth_data("smallnorb")
    msg = str(err.value)
    assert str(missing) in msg and "DISENTANGLEMENT_LIB_DATA" in msg
    assert "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/" in msg and "rpu_download_data" in msg


def test_malformed_smallnorb_files_raise_value_errors_naming_the_file(data_root):
    folder = str(data_root / "small_norb")
    written = write_small_norb(folder)
    info = os.path.join(folder, f"smallnorb-{SMALLNORB_CHUNKS[0]}-info.mat")
    cat = os.path.join(folder, f"smallnorb-{SMALLNORB_CHUNKS[0]}-cat.mat")
    dat = os.path.join(folder, f"smallnorb-{SMALLNORB_CHUNKS[0]}-dat.mat")
    good_cat = open(cat, "rb").read()
    open(cat, "wb").write(b"\0" * 24)
    with pytest.raises(ValueError, match=f"{cat}: not a NORB binary matrix"):
        SmallNORB()
    open(cat, "wb").write(good_cat[:-4])
    with pytest.raises(ValueError, match=f"{cat}: the file is truncated"):
        SmallNORB()
    write_norb_matrix(cat, np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match=f"{cat}: cat must be a matrix of int32"):
        SmallNORB()
    open(cat, "wb").write(good_cat)
    labels = written["features"][SMALLNORB_CHUNKS[0]]
    twice = np.stack([labels[:, 1], labels[:, 2], 2 * labels[:, 3], labels[:, 4]], axis=1).astype(np.int32)
    twice[1] = twice[0]
    write_norb_matrix(info, twice)
    with pytest.raises(ValueError, match="not a complete factor grid"):
        SmallNORB()
    write_small_norb(folder)
    write_norb_matrix(dat, np.zeros((3, 2, 4, 4), np.uint8))
    with pytest.raises(ValueError, match=f"{dat}: dat must be a matrix of uint8"):
        SmallNORB()


# --- Cars3D ---------------------------------------------------------------------------

def test_cars3d_reads_the_mat_files_in_name_order(data_root):
    ims = write_small_cars(str(data_root / "cars"), num_cars=3)
    data = get_named_ground_truth_data("cars3d")
    assert isinstance(data, Cars3D) and data.name == "cars3d"
    assert data.factors_num_values == [4, 24, 3] and data.observation_shape == [64, 64, 3]
    assert data.factor_names == ["elevation", "azimuth", "object_type"]
    factors, obs = data.sample(50, np.random.RandomState(0))
    assert obs.shape == (50, 64, 64, 3) and obs.dtype == np.float32
    for (elevation, azimuth, car), x in zip(factors, obs):
        colour = ims[car][0, 0, :, azimuth, elevation]
        np.testing.assert_array_equal(x, np.broadcast_to((colour / 255.0).astype(np.float32), x.shape))
    np.testing.assert_array_equal(data.observations_from_indices(data.factors_to_index(factors)), obs)
    assert data._images.dtype == np.uint8


def test_cars3d_thumbnail_keeps_small_images_and_the_aspect_ratio():
    assert legacy_thumbnail_size(128, 128, 64, 64) == (64, 64)
    assert legacy_thumbnail_size(32, 32, 64, 64) == (32, 32)
    assert legacy_thumbnail_size(128, 96, 64, 64) == (64, 48)


def test_cars3d_missing_and_malformed_files(data_root):
    with pytest.raises(FileNotFoundError, match=r"cars.*DISENTANGLEMENT_LIB_DATA.*nips2015-analogy-data\.tar\.gz"):
        Cars3D()
    (data_root / "cars").mkdir()
    with pytest.raises(FileNotFoundError, match="no .mat files"):
        Cars3D()
    from scipy import io as sio

    path = str(data_root / "cars" / "car_001_mesh.mat")
    sio.savemat(path, {"mask": np.zeros((4, 4))})
    with pytest.raises(ValueError, match=f"{path}: no variable 'im'"):
        Cars3D()
    sio.savemat(path, {"im": np.zeros((8, 8, 3, 24, 3), np.uint8)})
    with pytest.raises(ValueError, match=r"must be uint8 of shape \(H, W, 3, 24, 4\)"):
        Cars3D()
    open(path, "wb").write(b"not a mat file at all")
    with pytest.raises(ValueError, match="cannot be read as a MATLAB file"):
        Cars3D()


# --- MPI3D ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, num, sizes", [
    ("mpi3d_toy", 460800, [4, 4, 2, 3, 3, 40, 40]),
    ("mpi3d_realistic", 460800, [4, 4, 2, 3, 3, 40, 40]),
    ("mpi3d_real", 1036800, [6, 6, 2, 3, 3, 40, 40]),
])
def test_mpi3d_reads_dlib_layout_memory_mapped(data_root, name, num, sizes):
    images = write_small_mpi3d(str(data_root / name / f"{name}.npz"), num=num)
    data = get_named_ground_truth_data(name)
    assert isinstance(data, MPI3D) and data.name == name
    assert data.factors_num_values == sizes and data.observation_shape == [2, 2, 3]
    assert len(data.factor_names) == 7 and data._images is None  # read through a memory map
    factors, obs = data.sample(64, np.random.RandomState(1))
    idx = np.ravel_multi_index(tuple(factors.T), sizes)
    np.testing.assert_array_equal(obs, images[idx].astype(np.float32) / np.float32(255))
    assert obs.dtype == np.float32
    clone = pickle.loads(pickle.dumps(data))
    assert clone._map is None and len(pickle.dumps(data)) < 100_000  # no copy of the images
    np.testing.assert_array_equal(clone.observations_from_indices(idx), obs)


def test_mpi3d_in_memory_compressed_and_newer_grid(data_root, caplog):
    path = str(data_root / "mpi3d_toy" / "mpi3d_toy.npz")
    images = write_small_mpi3d(path, compressed=True)
    compressed = MPI3D("mpi3d_toy")
    assert compressed._images is not None and compressed._images.shape == images.shape
    idx = np.array([0, 5, 460799, 5])
    np.testing.assert_array_equal(compressed.observations_from_indices(idx), images[idx] / np.float32(255))
    write_small_mpi3d(path, num=1036800)
    newer = MPI3D("mpi3d_toy", in_memory=True)  # the current public toy file has the 6 x 6 grid
    assert newer.factors_num_values == [6, 6, 2, 3, 3, 40, 40] and newer._images is not None
    assert "differs" not in caplog.text and "assumes [4, 4, 2, 3, 3, 40, 40]" in caplog.text


def test_mpi3d_missing_and_malformed_files(data_root, tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        get_named_ground_truth_data("mpi3d_real")
    msg = str(err.value)
    assert str(data_root / "mpi3d_real" / "mpi3d_real.npz") in msg and "DISENTANGLEMENT_LIB_DATA" in msg
    assert "huggingface.co/datasets/waleedgondal/mpi3d" in msg
    path = str(tmp_path / "m.npz")
    np.savez(path, imgs=np.zeros((2, 2, 2, 3), np.uint8))
    with pytest.raises(ValueError, match=r"no array 'images'.*\['imgs'\]"):
        MPI3D(data_path=path)
    np.savez(path, images=np.zeros((10, 2, 2, 3), np.uint8))
    with pytest.raises(ValueError, match="10 images; an MPI3D file holds 460800 or 1036800"):
        MPI3D(data_path=path)
    np.savez(path, images=np.zeros((460800, 2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="must be uint8"):
        MPI3D(data_path=path)
    write_small_mpi3d(path)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(ValueError, match=path):
        MPI3D(data_path=path)
    open(path, "wb").write(b"nope")
    with pytest.raises(ValueError, match="not an .npz"):
        MPI3D(data_path=path)
    with pytest.raises(ValueError, match="unknown MPI3D mode"):
        MPI3D("mpi3d_complex")


# --- scream_dsprites ------------------------------------------------------------------

DSPRITES_REL = ("dsprites", "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz")


def test_scream_dsprites_inverts_the_sprite_on_a_tinted_patch(data_root):
    write_small_dsprites(str(data_root.joinpath(*DSPRITES_REL)))
    write_scream(str(data_root / "scream" / "scream.jpg"), size=(120, 100))
    data = get_named_ground_truth_data("scream_dsprites")
    assert isinstance(data, ScreamVariant) and data.observation_shape == [64, 64, 3]
    assert data.scream.shape == (100, 120, 3) and data.factor_names[0] == "shape"
    factors, x = data.sample(12, np.random.RandomState(2))
    assert x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1
    # The same draws by hand: factors, then per image two crop corners and a tint.
    rs = np.random.RandomState(2)
    base = data.base
    grey = base.sample_observations_from_factors(base.sample_factors(12, rs), rs)
    for i in range(12):
        a, b = rs.randint(0, 100 - 64), rs.randint(0, 120 - 64)
        background = (data.scream[a:a + 64, b:b + 64] + rs.uniform(0, 1, size=3)) / 2.
        expected = np.where(grey[i] == 1, 1 - background, background).astype(np.float32)
        np.testing.assert_array_equal(x[i], expected)
    again = data.observations_from_indices([0, 3])
    np.testing.assert_array_equal(again, data.observations_from_indices([0, 3], np.random.RandomState(0)))


def test_scream_picture_is_shrunk_to_fit_350_by_274(tmp_path):
    path = str(tmp_path / "big.png")
    write_scream(path, size=(700, 1000), fmt="PNG")
    assert legacy_thumbnail_size(700, 1000, 350, 274) == (191, 274)
    scream = load_scream(path)
    assert scream.shape == (274, 191, 3) and scream.dtype == np.float64 and 0 <= scream.min() <= scream.max() <= 1


def test_scream_missing_or_too_small_picture(data_root):
    write_small_dsprites(str(data_root.joinpath(*DSPRITES_REL)))
    with pytest.raises(FileNotFoundError, match=r"scream\.jpg.*DISENTANGLEMENT_LIB_DATA.*The_Scream\.jpg"):
        get_named_ground_truth_data("scream_dsprites")
    write_scream(str(data_root / "scream" / "scream.jpg"), size=(64, 80))
    with pytest.raises(ValueError, match="crops of 64x64 need a larger one"):
        get_named_ground_truth_data("scream_dsprites")
    (data_root / "scream" / "scream.jpg").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot be read as an image"):
        get_named_ground_truth_data("scream_dsprites")


def test_gin_selects_an_mpi3d_set_and_its_settings(data_root):
    import gin

    write_small_mpi3d(str(data_root / "mpi3d_realistic" / "mpi3d_realistic.npz"))
    gin.clear_config()
    try:
        gin.parse_config(['dataset.name = "mpi3d_realistic"', "mpi3d.in_memory = True"])
        data = get_named_ground_truth_data()
    finally:
        gin.clear_config()
    assert isinstance(data, MPI3D) and data.name == "mpi3d_realistic" and data._images is not None
