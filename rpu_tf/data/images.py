"""Unlabelled image data: a folder of image files, an ``.npz``/``.h5`` array, CelebA.

These data sets have a finite index and no ground-truth factors (``num_factors == 0``):
``sample_observations`` and ``observations_from_indices`` work, while anything that needs
factors (``sample_factors``, ``sample``, ``index_to_factors``) raises
:class:`~rpu_tf.data.ground_truth_data.UnlabelledDataError`. This is what the rPU-VAE
recursion needs: observations and an index.

Every image is centre-cropped to a square (``crop_size`` pixels, or the largest centred
square), resized to ``image_size`` x ``image_size`` (bilinear with antialiasing), converted
to ``num_channels`` (1: luminance, 3: RGB) and scaled to [0, 1]. Processed images are
cached as uint8 on first use. Decoding and resizing use TensorFlow, imported on first use.
"""

from __future__ import annotations

import logging
import os
from typing import Optional, Sequence

import gin
import numpy as np

from rpu_tf.data import paths
from rpu_tf.data.file_checks import check_array_sample, check_finite, check_image_headers, reading
from rpu_tf.data.ground_truth_data import FiniteGroundTruthData, UnlabelledDataError

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
CELEBA_FOLDER = ("celeba", "img_align_celeba")
CELEBA_URL = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (img_align_celeba.zip)"


class UnlabelledData(FiniteGroundTruthData):
    """A finite set of observations without ground-truth factors."""

    @property
    def num_factors(self) -> int:
        return 0

    @property
    def factors_num_values(self) -> list[int]:
        return []

    def _unlabelled(self, what: str):
        raise UnlabelledDataError(
            f"{self.name} is an unlabelled data set (no ground-truth factors), so {what} is not "
            "available. Use sample_observations / observations_from_indices, or a labelled data "
            "set for ground-truth metrics."
        )

    def sample_factors(self, num, random_state):
        self._unlabelled("sample_factors")

    def sample_observations_from_factors(self, factors, random_state):
        self._unlabelled("sample_observations_from_factors")

    def sample(self, num, random_state):
        self._unlabelled("sample (factors and observations)")

    def index_to_factors(self, indices):
        self._unlabelled("index_to_factors")

    def factors_to_index(self, factors):
        self._unlabelled("factors_to_index")

    def sample_observations(self, num, random_state):
        """Samples ``num`` observations uniformly with replacement (one ``randint`` call)."""
        return self._observations_from_valid_indices(self.sample_indices(num, random_state), random_state)


class _ProcessedImages(UnlabelledData):
    """Crops, resizes and caches images delivered raw by :meth:`_raw_images`."""

    def __init__(self, num: int, image_size: int, num_channels: int, crop_size: Optional[int], name: str):
        if int(image_size) != image_size or image_size < 4:
            raise ValueError(f"{name}: image_size must be an integer >= 4, got {image_size!r}.")
        if num_channels not in (1, 3):
            raise ValueError(f"{name}: num_channels must be 1 or 3, got {num_channels!r}.")
        if crop_size is not None and (int(crop_size) != crop_size or crop_size < 1):
            raise ValueError(f"{name}: crop_size must be a positive integer or None, got {crop_size!r}.")
        if num < 1:
            raise ValueError(f"{name}: no images found.")
        self._num = int(num)
        self.image_size = int(image_size)
        self.num_channels = int(num_channels)
        self.crop_size = None if crop_size is None else int(crop_size)
        self._name = name
        # np.zeros maps pages lazily: memory grows only with the images actually used.
        self._cache = np.zeros((self._num, self.image_size, self.image_size, self.num_channels), np.uint8)
        self._cached = np.zeros(self._num, dtype=bool)

    @property
    def name(self) -> str:
        return self._name

    @property
    def num_observations(self) -> int:
        return self._num

    @property
    def observation_shape(self) -> list[int]:
        return [self.image_size, self.image_size, self.num_channels]

    def _raw_images(self, indices: np.ndarray) -> Sequence[np.ndarray]:
        """Raw images (H, W) or (H, W, C), uint8 or float in [0, 1], for sorted unique indices."""
        raise NotImplementedError()

    def _observations_from_valid_indices(self, indices, random_state):
        missing = np.unique(indices[~self._cached[indices]])
        if missing.size:
            for i, raw in zip(missing, self._raw_images(missing)):
                self._cache[i] = self._process(raw, int(i))
            self._cached[missing] = True
        return self._cache[indices].astype(np.float32) / np.float32(255.0)

    def _process(self, raw: np.ndarray, index: int) -> np.ndarray:
        img = np.asarray(raw)
        if img.ndim == 2:
            img = img[:, :, None]
        if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
            raise ValueError(f"{self.name}: image {index} has shape {img.shape}; "
                             "expected (H, W) or (H, W, C) with C in 1, 3, 4.")
        if img.dtype == np.uint8:
            img = img.astype(np.float32) / 255.0
        else:
            img = img.astype(np.float32)
            check_finite(img, f"image {index}", self.name)
            if img.size and (img.min() < 0.0 or img.max() > 1.0):
                raise ValueError(f"{self.name}: image {index} is float with values outside [0, 1]; "
                                 "store uint8 (0..255) or floats in [0, 1].")
        img = img[:, :, :3]
        if img.shape[2] == 3 and self.num_channels == 1:
            img = img @ np.array([[0.299], [0.587], [0.114]], dtype=np.float32)
        elif img.shape[2] == 1 and self.num_channels == 3:
            img = np.repeat(img, 3, axis=2)
        h, w = img.shape[:2]
        side = min(h, w) if self.crop_size is None else min(self.crop_size, h, w)
        top, left = (h - side) // 2, (w - side) // 2
        img = img[top:top + side, left:left + side]
        if side != self.image_size:
            import tensorflow as tf

            img = tf.image.resize(img, [self.image_size, self.image_size], method="bilinear",
                                  antialias=True).numpy()
        return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


class ImageFolder(_ProcessedImages):
    """Every image file below ``path`` (sorted by relative path; png, jpg, bmp, gif)."""

    def __init__(self, path: str, image_size: int = 64, num_channels: int = 3,
                 crop_size: Optional[int] = None, name: str = "images"):
        if not os.path.isdir(path):
            raise FileNotFoundError(f"{name}: image folder not found: {path}.")
        files = []
        for root, _, names in os.walk(path):
            files += [os.path.join(root, n) for n in names if n.lower().endswith(IMAGE_EXTENSIONS)]
        files.sort(key=lambda p: os.path.relpath(p, path))
        if not files:
            raise ValueError(f"{name}: no image files ({', '.join(IMAGE_EXTENSIONS)}) below {path}.")
        check_image_headers(files, name)  # a broken file fails now, not when first sampled
        self.files = files
        super().__init__(len(files), image_size, num_channels, crop_size, name)

    def _raw_images(self, indices):
        import tensorflow as tf

        out = []
        for i in indices:
            path = self.files[int(i)]
            try:
                data = tf.io.read_file(path)
                img = tf.io.decode_image(data, channels=0, expand_animations=False).numpy()
            except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as e:
                raise ValueError(f"{self.name}: cannot decode image {path}: {e.message}") from e
            out.append(img)
        return out


class ImageArray(_ProcessedImages):
    """Images stored as one array in an ``.npz`` or ``.h5`` file, (N, H, W) or (N, H, W, C).

    ``key`` names the array; None takes the only array of the file, or one called
    ``images`` or ``imgs``. ``.h5`` arrays are read per batch; ``.npz`` arrays are loaded.
    """

    def __init__(self, path: str, key: Optional[str] = None, image_size: int = 64, num_channels: int = 3,
                 crop_size: Optional[int] = None, name: str = "images"):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{name}: image array file not found: {path}.")
        self.path = path
        self._h5 = None
        if path.endswith(".npz"):
            with reading(path, name), np.load(path, allow_pickle=False) as data:
                self.key = self._pick_key(list(data.keys()), key, name)
                self._array = data[self.key]
            shape, dtype = self._array.shape, self._array.dtype
            check_finite(self._array, f"array {self.key!r} in {path}", name)
        elif path.endswith((".h5", ".hdf5")):
            import h5py

            with reading(path, name), h5py.File(path, "r") as f:
                keys = [k for k in f.keys() if isinstance(f[k], h5py.Dataset)]
                self.key = self._pick_key(keys, key, name)
                shape, dtype = f[self.key].shape, f[self.key].dtype
                if len(shape) >= 1 and shape[0] > 0:
                    check_array_sample(f[self.key], path, name)
            self._array = None
        else:
            raise ValueError(f"{name}: {path} is neither .npz nor .h5; give a folder of images or one of those.")
        if len(shape) not in (3, 4) or (len(shape) == 4 and shape[3] not in (1, 3, 4)):
            raise ValueError(f"{name}: array {self.key!r} in {path} must have shape (N, H, W) or "
                             f"(N, H, W, C) with C in 1, 3, 4; got {shape}.")
        if not (dtype == np.uint8 or np.issubdtype(dtype, np.floating)):
            raise ValueError(f"{name}: array {self.key!r} in {path} must be uint8 or float, got {dtype}.")
        super().__init__(int(shape[0]), image_size, num_channels, crop_size, name)

    def _pick_key(self, keys: list[str], key: Optional[str], name: str) -> str:
        if key is not None:
            if key not in keys:
                raise ValueError(f"{name}: no array {key!r} in {self.path}; found {sorted(keys)}.")
            return key
        if len(keys) == 1:
            return keys[0]
        for candidate in ("images", "imgs"):
            if candidate in keys:
                return candidate
        raise ValueError(f"{name}: {self.path} holds several arrays {sorted(keys)}; "
                         "name one with images.key.")

    def _raw_images(self, indices):
        if self._array is not None:
            return list(self._array[indices])
        with reading(self.path, self.name):
            if self._h5 is None:
                import h5py

                self._h5 = h5py.File(self.path, "r")
            return list(self._h5[self.key][indices])

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_h5"] = None
        return state


@gin.configurable("images")
def get_images(path: str = gin.REQUIRED, image_size: int = 64, num_channels: int = 3,
               crop_size: Optional[int] = None, key: Optional[str] = None) -> UnlabelledData:
    """Unlabelled images from a folder of image files or an ``.npz`` / ``.h5`` array file.

    Args:
      path: a folder (searched recursively) or an array file.
      image_size: output height and width in pixels (64 by default).
      num_channels: 3 for RGB, 1 for grey scale.
      crop_size: side of the centred square crop before resizing; None for the largest.
      key: name of the array in an ``.npz`` / ``.h5`` file (see :class:`ImageArray`).
    """
    if os.path.isdir(path):
        if key is not None:
            logger.warning("images.key=%r is ignored for the image folder %s.", key, path)
        return ImageFolder(path, image_size, num_channels, crop_size)
    return ImageArray(path, key, image_size, num_channels, crop_size)


@gin.configurable("celeba")
def get_celeba(data_path: Optional[str] = None, image_size: int = 64, crop_size: int = 140) -> ImageFolder:
    """CelebA's aligned faces from ``$DISENTANGLEMENT_LIB_DATA/celeba/img_align_celeba/``.

    The 178x218 images are centre-cropped to ``crop_size`` (140 px, the usual face crop)
    and resized to ``image_size``; RGB.
    """
    path = data_path or paths.data_path(*CELEBA_FOLDER)
    paths.require_file(path, "celeba", CELEBA_URL, "/".join(CELEBA_FOLDER) + "/")
    return ImageFolder(path, image_size=image_size, num_channels=3, crop_size=crop_size, name="celeba")
