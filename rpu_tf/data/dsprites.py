"""dSprites from its public file, in disentanglement_lib's layout.

File: ``$DISENTANGLEMENT_LIB_DATA/dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``
(https://github.com/deepmind/dsprites-dataset). Arrays used: ``imgs`` (N, 64, 64) uint8
with values 0/1 and ``latents_classes`` (N, 6) int, the row-major factor grid
colour x shape x scale x orientation x pos_x x pos_y = 1 x 3 x 6 x 40 x 32 x 32.

Memory: the images are streamed out of the zip member in chunks and kept bit-packed
(8 pixels a byte): 377 MB for the full file instead of disentanglement_lib's two uint8
copies (6.4 GB peak). The grid sizes are read from ``latents_classes``, so files with a
smaller grid in the same format (as the tests write) load too.
"""

from __future__ import annotations

import logging
import zipfile
import zlib
from typing import Optional, Sequence

import gin
import numpy as np

from rpu_tf.data import paths
from rpu_tf.data.factor_grid import FactorGridData

logger = logging.getLogger(__name__)

DSPRITES_FILE = ("dsprites", "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz")
DSPRITES_URL = "https://github.com/deepmind/dsprites-dataset"
DSPRITES_SIZES = [1, 3, 6, 40, 32, 32]
FACTOR_NAMES = ("color", "shape", "scale", "orientation", "position_x", "position_y")
_CHUNK_ROWS = 8192


def read_npy_member(zf: zipfile.ZipFile, key: str, path: str) -> np.ndarray:
    """Reads array ``key`` of an ``.npz`` without pickles, with a clear error if missing."""
    member = key + ".npy"
    if member not in zf.namelist():
        found = sorted(n[:-4] for n in zf.namelist() if n.endswith(".npy"))
        raise ValueError(f"{path}: no array {key!r} in the file (found {found}); is this the dSprites file?")
    with zf.open(member) as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def grid_classes_to_sizes(classes: np.ndarray, path: str) -> list[int]:
    """Checks that ``classes`` (N, k) enumerates a row-major grid; returns its sizes."""
    if classes.ndim != 2 or classes.shape[1] < 1 or not np.issubdtype(classes.dtype, np.integer):
        raise ValueError(f"{path}: latents_classes must be a 2-D integer array, got "
                         f"{classes.dtype} {classes.shape}.")
    if classes.min() < 0:
        raise ValueError(f"{path}: latents_classes has negative entries.")
    sizes = [int(v) + 1 for v in classes.max(axis=0)]
    n = int(np.prod(sizes, dtype=np.int64))
    bases = np.array([int(np.prod(sizes[i + 1:], dtype=np.int64)) for i in range(len(sizes))])
    if classes.shape[0] != n or not np.array_equal(classes.astype(np.int64) @ bases, np.arange(n)):
        raise ValueError(
            f"{path}: latents_classes is not a complete row-major factor grid of sizes {sizes} "
            f"({classes.shape[0]} rows for {n} grid points)."
        )
    return sizes


def _read_binary_images_packed(zf: zipfile.ZipFile, path: str, num: int) -> tuple[np.ndarray, int]:
    """Streams ``imgs`` (num, H, W) out of the zip and bit-packs it; returns (packed, W)."""
    if "imgs.npy" not in zf.namelist():
        found = sorted(n[:-4] for n in zf.namelist() if n.endswith(".npy"))
        raise ValueError(f"{path}: no array 'imgs' in the file (found {found}); is this the dSprites file?")
    with zf.open("imgs.npy") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        if len(shape) != 3 or shape[0] != num or dtype.kind not in "ub" or dtype.itemsize != 1 or fortran:
            raise ValueError(
                f"{path}: imgs must be a C-ordered uint8 array of shape ({num}, H, W), "
                f"got {dtype} {shape}{' (Fortran order)' if fortran else ''}."
            )
        h, w = int(shape[1]), int(shape[2])
        packed = np.empty((num, h, (w + 7) // 8), dtype=np.uint8)
        row_bytes = h * w
        for start in range(0, num, _CHUNK_ROWS):
            rows = min(_CHUNK_ROWS, num - start)
            buf = f.read(rows * row_bytes)
            if len(buf) != rows * row_bytes:
                raise ValueError(f"{path}: imgs is truncated (expected {num} images).")
            chunk = np.frombuffer(buf, dtype=np.uint8).reshape(rows, h, w)
            if chunk.max(initial=0) > 1:
                raise ValueError(f"{path}: imgs must hold binary 0/1 pixels like dSprites, found {chunk.max()}.")
            packed[start:start + rows] = np.packbits(chunk, axis=-1)
    return packed, w


@gin.configurable("dsprites")
class DSprites(FactorGridData):
    """dSprites read from the public ``.npz`` (disentanglement_lib's ``DSprites``).

    Args:
      latent_factor_indices: which of the file's factors are ground truth; None means all
        factors with more than one value (for the real file: shape, scale, orientation,
        position x, position y, as disentanglement_lib's ``dsprites_full``). The others
        are drawn at random when sampling, as disentanglement_lib does.
      data_path: the ``.npz`` file; default ``$DISENTANGLEMENT_LIB_DATA/dsprites/...``.
    """

    def __init__(self, latent_factor_indices: Optional[Sequence[int]] = None, data_path: Optional[str] = None):
        path = data_path or paths.data_path(*DSPRITES_FILE)
        paths.require_file(path, "dsprites", DSPRITES_URL, "/".join(DSPRITES_FILE), "rpu_download_data --dataset=dsprites")
        try:
            zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile as e:
            raise ValueError(f"{path}: not an .npz (zip) file: {e}") from e
        with zf:
            try:
                classes = read_npy_member(zf, "latents_classes", path)
                sizes = grid_classes_to_sizes(classes, path)
                self._packed, self._width = _read_binary_images_packed(zf, path, classes.shape[0])
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:  # a corrupt member
                raise ValueError(f"{path}: cannot be read ({type(e).__name__}: {e}); the file is corrupt: "
                                 f"download it again from {DSPRITES_URL}.") from e
        if sizes != DSPRITES_SIZES:
            logger.warning("%s: factor grid %s differs from dSprites' %s.", path, sizes, DSPRITES_SIZES)
        if latent_factor_indices is None:
            latent_factor_indices = [i for i, s in enumerate(sizes) if s > 1]
        super().__init__(sizes, latent_factor_indices)
        self.data_path = path

    @property
    def name(self) -> str:
        return "dsprites_full" if self.grid.latent_factor_indices == [1, 2, 3, 4, 5] else "dsprites"

    @property
    def factor_names(self) -> list[str]:
        names = list(FACTOR_NAMES) if len(self.grid.factor_sizes) == 6 else [
            f"factor_{i}" for i in range(len(self.grid.factor_sizes))]
        return [names[i] for i in self.grid.latent_factor_indices]

    @property
    def observation_shape(self) -> list[int]:
        return [self._packed.shape[1], self._width, 1]

    def _observations_from_all_factors(self, all_factors, random_state):
        return self._images(self.grid.all_factors_to_index(all_factors))

    def _observations_from_valid_indices(self, indices, random_state):
        return self._images(indices)

    def _images(self, indices: np.ndarray) -> np.ndarray:
        bits = np.unpackbits(self._packed[indices], axis=-1, count=self._width)
        return bits[..., None].astype(np.float32)
