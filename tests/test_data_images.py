"""Unlabelled image data: folders, arrays, CelebA layout."""

import numpy as np
import pytest

from rpu_tf.data import (
    ImageArray,
    ImageFolder,
    UnlabelledDataError,
    get_images,
    get_named_ground_truth_data,
)


def _write_pngs(folder, images):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        Image.fromarray(img).save(folder / f"{i:03d}.png")


def _gradient_images(n, h, w, seed=0):
    rng = np.random.RandomState(seed)
    base = np.linspace(0, 255, w, dtype=np.float64)[None, :, None] * np.ones((h, 1, 3))
    return [np.clip(base + rng.randint(0, 30, size=(h, w, 3)), 0, 255).astype(np.uint8) for _ in range(n)]


def test_folder_of_images_is_unlabelled_finite_data(tmp_path):
    imgs = _gradient_images(5, 64, 64)
    _write_pngs(tmp_path / "a", imgs[:3])
    _write_pngs(tmp_path / "a" / "sub", imgs[3:])
    data = get_images(str(tmp_path / "a"))
    assert isinstance(data, ImageFolder)
    assert data.num_observations == 5
    assert data.num_factors == 0 and data.factors_num_values == []
    assert data.observation_shape == [64, 64, 3]
    x = data.observations_from_indices([0, 4])
    np.testing.assert_allclose(x[0], imgs[0] / 255.0, atol=1e-6)  # same size: no resampling
    np.testing.assert_allclose(x[1], imgs[4] / 255.0, atol=1e-6)  # sub/000.png sorts last
    obs = data.sample_observations(7, np.random.RandomState(0))
    assert obs.shape == (7, 64, 64, 3) and obs.dtype == np.float32
    for call in (lambda: data.sample_factors(2, np.random.RandomState(0)),
                 lambda: data.sample(2, np.random.RandomState(0)),
                 lambda: data.index_to_factors([0])):
        with pytest.raises(UnlabelledDataError, match="unlabelled"):
            call()


def test_centre_crop_and_resize(tmp_path):
    # A 40x80 image whose left and right quarters are black, middle white.
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, 20:60] = 255
    _write_pngs(tmp_path / "f", [img])
    data = ImageFolder(str(tmp_path / "f"), image_size=16, num_channels=1)
    x = data.observations_from_indices([0])
    assert x.shape == (1, 16, 16, 1)
    np.testing.assert_allclose(x, 1.0, atol=1e-6)  # the centred 40x40 square is all white
    cropped = ImageFolder(str(tmp_path / "f"), image_size=8, crop_size=20)
    np.testing.assert_allclose(cropped.observations_from_indices([0]), 1.0, atol=1e-6)


def test_npz_and_h5_arrays(tmp_path):
    import h5py

    arr = np.stack(_gradient_images(6, 32, 48, seed=3))
    np.savez(tmp_path / "x.npz", images=arr, other=np.zeros(3))
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f.create_dataset("pics", data=arr)
    a = get_images(str(tmp_path / "x.npz"), image_size=32)
    b = get_images(str(tmp_path / "x.h5"), image_size=32)
    assert isinstance(a, ImageArray) and isinstance(b, ImageArray)
    assert a.key == "images" and b.key == "pics"
    idx = [5, 0, 5]
    np.testing.assert_array_equal(a.observations_from_indices(idx), b.observations_from_indices(idx))
    np.testing.assert_allclose(a.observations_from_indices([1])[0], arr[1, :, 8:40] / 255.0, atol=1e-6)
    grey = ImageArray(str(tmp_path / "x.npz"), key="images", image_size=32, num_channels=1)
    assert grey.observations_from_indices([0]).shape == (1, 32, 32, 1)


def test_float_arrays_and_grey_arrays(tmp_path):
    arr = np.random.RandomState(0).rand(3, 16, 16).astype(np.float32)
    np.savez(tmp_path / "f.npz", arr)
    data = ImageArray(str(tmp_path / "f.npz"), image_size=16, num_channels=3)
    x = data.observations_from_indices([2])
    np.testing.assert_allclose(x[0, :, :, 1], arr[2], atol=1 / 255)
    np.savez(tmp_path / "bad.npz", images=arr * 3)
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        ImageArray(str(tmp_path / "bad.npz"), image_size=16).observations_from_indices([0])


def test_celeba_layout_under_the_data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="celeba/img_align_celeba.*DISENTANGLEMENT_LIB_DATA"):
        get_named_ground_truth_data("celeba")
    _write_pngs(tmp_path / "celeba" / "img_align_celeba", _gradient_images(2, 218, 178))
    data = get_named_ground_truth_data("celeba")
    assert data.name == "celeba" and data.num_observations == 2
    assert data.observations_from_indices([1]).shape == (1, 64, 64, 3)


@pytest.mark.parametrize("make, match", [
    (lambda p: get_images(str(p / "missing")), "not found"),
    (lambda p: get_images(str(p / "empty")), "no image files"),
    (lambda p: get_images(str(p / "a.txt")), "neither .npz nor .h5"),
    (lambda p: ImageArray(str(p / "two.npz")), "several arrays"),
    (lambda p: ImageArray(str(p / "two.npz"), key="nope"), "no array 'nope'"),
    (lambda p: ImageArray(str(p / "vec.npz")), "shape"),
    (lambda p: ImageArray(str(p / "two.npz"), key="a", num_channels=2), "num_channels"),
    (lambda p: ImageFolder(str(p / "corrupt")), "cannot be images: .*x.png \\(not a png file\\)"),
    (lambda p: ImageFolder(str(p / "truncated")).observations_from_indices([0]), "cannot decode image .*y.png"),
])
def test_bad_image_inputs(tmp_path, make, match):
    (tmp_path / "empty").mkdir()
    (tmp_path / "a.txt").write_text("x")
    np.savez(tmp_path / "two.npz", a=np.zeros((2, 8, 8), np.uint8), b=np.zeros((2, 8, 8), np.uint8))
    np.savez(tmp_path / "vec.npz", np.zeros((5, 3), np.uint8))
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "x.png").write_bytes(b"\x89PNG broken")
    (tmp_path / "truncated").mkdir()  # a PNG signature, then nothing a decoder can read
    (tmp_path / "truncated" / "y.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        make(tmp_path)
