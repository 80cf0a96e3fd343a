"""3dshapes from DeepMind's public HDF5 file, read lazily with h5py.

File: ``$DISENTANGLEMENT_LIB_DATA/3dshapes/3dshapes.h5``
(https://github.com/deepmind/3d-shapes): ``images`` (480000, 64, 64, 3) uint8 and
``labels`` (480000, 6) float64 in the row-major grid floor hue x wall hue x object hue x
scale x shape x orientation = 10 x 10 x 10 x 8 x 4 x 15.

Images are read from the file per batch (sorted, de-duplicated indices, one h5py read),
so memory stays at the size of a batch; ``in_memory=True`` loads all images once
(5.9 GB uint8) for the fastest sampling. The grid is read from ``labels`` (distinct
values per column), so smaller files in the same format load too.
"""

from __future__ import annotations

import logging
from typing import Optional

import gin
import numpy as np

from rpu_tf.data import paths
from rpu_tf.data.factor_grid import FactorGridData
from rpu_tf.data.file_checks import check_array_sample, reading

logger = logging.getLogger(__name__)

SHAPES3D_FILE = ("3dshapes", "3dshapes.h5")
SHAPES3D_URL = "https://github.com/deepmind/3d-shapes"
SHAPES3D_SIZES = [10, 10, 10, 8, 4, 15]
FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")


def _open_h5(path: str):
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"{path}: cannot be read as an HDF5 file: {e}") from e


@gin.configurable("shapes3d")
class Shapes3D(FactorGridData):
    """3dshapes with its six factors, ``observation_shape == [64, 64, 3]``.

    Args:
      data_path: the ``.h5`` file; default ``$DISENTANGLEMENT_LIB_DATA/3dshapes/3dshapes.h5``.
      in_memory: load every image into memory once instead of reading per batch.
    """

    def __init__(self, data_path: Optional[str] = None, in_memory: bool = False):
        path = data_path or paths.data_path(*SHAPES3D_FILE)
        paths.require_file(path, "shapes3d", SHAPES3D_URL, "/".join(SHAPES3D_FILE), "rpu_download_data --dataset=shapes3d")
        self.data_path = path
        with _open_h5(path) as f:
            for key in ("images", "labels"):
                if key not in f:
                    raise ValueError(f"{path}: no dataset {key!r} (found {sorted(f.keys())}); "
                                     "is this DeepMind's 3dshapes.h5?")
            images, labels = f["images"], f["labels"][()]
            if labels.ndim != 2 or labels.shape[1] != 6:
                raise ValueError(f"{path}: labels must have shape (N, 6), got {labels.shape}.")
            if (images.ndim != 4 or images.shape[0] != labels.shape[0] or images.shape[3] != 3
                    or images.dtype != np.uint8):
                raise ValueError(f"{path}: images must be uint8 of shape ({labels.shape[0]}, H, W, 3), "
                                 f"got {images.dtype} {images.shape}.")
            self._shape = [int(images.shape[1]), int(images.shape[2]), 3]
            if in_memory:
                with reading(path, "shapes3d"):
                    self._images = images[()]
            else:  # read per batch: a corrupt chunk among a sample of rows fails now
                check_array_sample(images, path, "shapes3d")
                self._images = None
        self.factor_values_per_factor = [np.unique(labels[:, i]) for i in range(6)]
        sizes = [len(v) for v in self.factor_values_per_factor]
        classes = np.stack([np.searchsorted(v, labels[:, i]) for i, v in enumerate(self.factor_values_per_factor)],
                           axis=1)
        super().__init__(sizes)
        if labels.shape[0] != self.grid.num_points or not np.array_equal(
                self.grid.all_factors_to_index(classes), np.arange(labels.shape[0])):
            raise ValueError(f"{path}: labels are not a complete row-major factor grid of sizes {sizes}.")
        if sizes != SHAPES3D_SIZES:
            logger.warning("%s: factor grid %s differs from 3dshapes' %s.", path, sizes, SHAPES3D_SIZES)
        self._file = None

    @property
    def name(self) -> str:
        return "shapes3d"

    factor_names = property(lambda self: list(FACTOR_NAMES), doc="Names of the latent factors, in order.")

    def factor_values(self, factors) -> np.ndarray:
        """Label values of factor classes as stored in the file, ``float64 (n, 6)``."""
        f = np.asarray(factors, dtype=np.int64).reshape(-1, 6)
        return np.stack([v[f[:, i]] for i, v in enumerate(self.factor_values_per_factor)], axis=1)

    @property
    def observation_shape(self) -> list[int]:
        return list(self._shape)

    def _observations_from_all_factors(self, all_factors, random_state):
        return self._read(self.grid.all_factors_to_index(all_factors))

    def _observations_from_valid_indices(self, indices, random_state):
        return self._read(indices)

    def _read(self, indices: np.ndarray) -> np.ndarray:
        if self._images is not None:
            raw = self._images[indices]
        else:
            if self._file is None:
                self._file = _open_h5(self.data_path)
            uniq, inverse = np.unique(indices, return_inverse=True)
            with reading(self.data_path, "shapes3d"):
                raw = self._file["images"][uniq][inverse]
        return raw.astype(np.float32) / np.float32(255.0)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_file"] = None  # h5py handles do not pickle; reopened on first read.
        return state
