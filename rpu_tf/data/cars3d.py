"""Cars3D from its public files, in disentanglement_lib's layout and with its processing.

Files: ``$DISENTANGLEMENT_LIB_DATA/cars/*.mat``, one per car model (183), from
http://www.scottreed.info/files/nips2015-analogy-data.tar.gz (its ``data/cars/`` folder,
as disentanglement_lib's ``dlib_download_data`` unpacks it). Each MATLAB file holds ``im``,
uint8 ``(128, 128, 3, 24, 4)``: height, width, RGB, azimuth, elevation.

As disentanglement_lib's ``Cars3D``: every image shrunk with ``thumbnail((64, 64))`` and
Lanczos (aspect kept: 128x128 becomes 64x64), the factor grid elevation x azimuth x object
type = 4 x 24 x 183, all three ground truth, observations ``[64, 64, 3]`` float32 equal to
disentanglement_lib's value for value. One difference: disentanglement_lib numbers the
object types in the order its directory listing returns the files (``gfile.ListDirectory``,
unsorted on local disks, so it can differ between machines); here they are numbered in the
sorted order of the file names (``car_001_mesh.mat`` is object type 0).

Memory: the resized images as uint8, 17568 x 64 x 64 x 3 = 216 MB (disentanglement_lib:
float64, 1.7 GB); one file is read at a time. The number of object types is the number of
files, so a folder with fewer cars (as the tests write) loads too.
"""

from __future__ import annotations

import logging
import os
from typing import Optional

import gin
import numpy as np

from rpu_tf.data import paths
from rpu_tf.data.factor_grid import FactorGridData
from rpu_tf.data.pil_images import UINT8_TO_UNIT, lanczos, legacy_thumbnail, legacy_thumbnail_size, require_pil
from rpu_tf.utils.progress import progress

logger = logging.getLogger(__name__)

CARS3D_FOLDER = "cars"
CARS3D_URL = "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz (its data/cars/ folder)"
CARS3D_SIZES = [4, 24, 183]
FACTOR_NAMES = ("elevation", "azimuth", "object_type")
IMAGE_SIZE = 64


def cars3d_files(folder: str) -> list[str]:
    """The ``.mat`` files of ``folder``, sorted by name."""
    return sorted(os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(".mat"))


def read_car(path: str) -> np.ndarray:
    """The ``im`` array of one car's file, checked: uint8 ``(H, W, 3, 24, 4)``."""
    from scipy import io as sio

    try:
        content = sio.loadmat(path, variable_names=["im"])
    except Exception as error:  # scipy raises many kinds (IndexError, MatReadError, ...) on a broken file
        raise ValueError(f"{path}: cannot be read as a MATLAB file ({type(error).__name__}: {error}); the file is "
                         f"corrupt: download it again from {CARS3D_URL}.") from error
    if "im" not in content:
        found = sorted(k for k in content if not k.startswith("__"))
        raise ValueError(f"{path}: no variable 'im' (found {found}); is this a Cars3D file?")
    im = content["im"]
    if im.dtype != np.uint8 or im.ndim != 5 or im.shape[2:] != (3, 24, 4):
        raise ValueError(f"{path}: 'im' must be uint8 of shape (H, W, 3, 24, 4), got {im.dtype} {im.shape}.")
    return im


def shrink_car(im: np.ndarray, out: np.ndarray) -> None:
    """Shrinks the 96 views of one car into ``out`` ``(4, 24, h, w, 3)`` (elevation, azimuth)
    as disentanglement_lib: ``thumbnail((64, 64), ANTIALIAS)`` of each RGB image."""
    Image = require_pil("cars3d")
    resample = lanczos(Image)
    for elevation in range(4):
        for azimuth in range(24):
            view = np.ascontiguousarray(im[:, :, :, azimuth, elevation])
            out[elevation, azimuth] = np.asarray(
                legacy_thumbnail(Image.fromarray(view), IMAGE_SIZE, IMAGE_SIZE, resample))


@gin.configurable("cars3d")
class Cars3D(FactorGridData):
    """Cars3D as disentanglement_lib's ``cars3d``: ``observation_shape == [64, 64, 3]``,
    factors elevation (4), azimuth (24), object type (183).

    Args:
      data_dir: the folder of the ``.mat`` files; default ``$DISENTANGLEMENT_LIB_DATA/cars``.
    """

    def __init__(self, data_dir: Optional[str] = None):
        folder = data_dir or paths.data_path(CARS3D_FOLDER)
        paths.require_file(folder, "cars3d", CARS3D_URL, CARS3D_FOLDER + "/", "rpu_download_data --dataset=cars3d")
        files = cars3d_files(folder) if os.path.isdir(folder) else []
        if not files:
            raise FileNotFoundError(f"cars3d: no .mat files in {folder}. `rpu_download_data --dataset=cars3d` puts "
                                    f"them there, or download {CARS3D_URL} and unpack it in ${paths.DATA_ROOT_ENV} "
                                    "(tar xzf nips2015-analogy-data.tar.gz && mv data/cars .).")
        require_pil("cars3d")
        first = read_car(files[0])
        h, w = first.shape[:2]
        tw, th = legacy_thumbnail_size(w, h, IMAGE_SIZE, IMAGE_SIZE)
        super().__init__([4, 24, len(files)])
        if len(files) != CARS3D_SIZES[2]:
            logger.warning("%s: %d car files, Cars3D has %d.", folder, len(files), CARS3D_SIZES[2])
        images = np.empty((4, 24, len(files), th, tw, 3), np.uint8)
        view = np.empty((4, 24, th, tw, 3), np.uint8)
        with progress(total=len(files), desc="cars3d: resizing", unit="cars") as bar:
            for i, path in enumerate(files):
                im = first if i == 0 else read_car(path)
                if im.shape[:2] != (h, w):
                    raise ValueError(f"{path}: images of {im.shape[0]}x{im.shape[1]} pixels, "
                                     f"{files[0]} has {h}x{w}; all cars must have the same size.")
                shrink_car(im, view)
                images[:, :, i] = view
                bar.update(1)
        self._images = images.reshape(-1, th, tw, 3)
        self._shape = [th, tw, 3]
        self.data_dir = folder
        self.files = files

    @property
    def name(self) -> str:
        return "cars3d"

    factor_names = property(lambda self: list(FACTOR_NAMES), doc="Names of the latent factors, in order.")

    @property
    def observation_shape(self) -> list[int]:
        return list(self._shape)

    def _observations_from_all_factors(self, all_factors, random_state):
        return UINT8_TO_UNIT[self._images[self.grid.all_factors_to_index(all_factors)]]
