"""smallNORB from its public files, in disentanglement_lib's layout and with its processing.

Files: ``$DISENTANGLEMENT_LIB_DATA/small_norb/smallnorb-{chunk}-{dat,cat,info}.mat`` for the
chunks ``5x46789x9x18x6x2x96x96-training`` and ``5x01235x9x18x6x2x96x96-testing``
(https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/, published gzipped; a ``.mat.gz`` next
to the place of a ``.mat`` is read too). They are in NORB's binary matrix format: an int32
magic number (the element type), an int32 ``ndim``, ``max(3, ndim)`` int32 dimensions, then
the elements, little-endian. ``dat``: uint8 ``(24300, 2, 96, 96)``, a stereo pair per row;
``cat``: int32 ``(24300,)`` category; ``info``: int32 ``(24300, 4)`` instance, elevation,
azimuth (0, 2, ..., 34), lighting.

As disentanglement_lib's ``SmallNORB``: the first image of each pair, resized to 64x64 with
pillow's Lanczos filter in 32-bit mode; the factor grid category x instance x elevation x
azimuth / 2 x lighting = 5 x 10 x 9 x 18 x 6 over both chunks; ground-truth factors
category, elevation, azimuth, lighting (the instance is drawn at random when sampling, in
the same order). Observations ``[64, 64, 1]`` float32 equal disentanglement_lib's, except
that the resize's overshoot next to sharp edges (values a few 255ths outside [0, 1], which
disentanglement_lib keeps) is clipped to [0, 1].

Memory: the resized images as uint8, 48600 x 64 x 64 = 199 MB (disentanglement_lib: float64,
1.6 GB); the files are read in blocks of rows. Loading resizes every image once (pillow).
The grid sizes are read from the labels, so smaller files in the same format load too.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
from typing import Any, Iterator, Optional

import gin
import numpy as np

from rpu_tf.data import paths
from rpu_tf.data.factor_grid import FactorGridData
from rpu_tf.data.file_checks import READ_ERRORS
from rpu_tf.data.pil_images import UINT8_TO_UNIT, require_pil, resize_like_norb
from rpu_tf.utils.progress import progress

logger = logging.getLogger(__name__)

SMALLNORB_FOLDER = "small_norb"
SMALLNORB_TEMPLATE = "smallnorb-{}-{}.mat"
SMALLNORB_CHUNKS = ("5x46789x9x18x6x2x96x96-training", "5x01235x9x18x6x2x96x96-testing")
SMALLNORB_URL = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"
SMALLNORB_SIZES = [5, 10, 9, 18, 6]
GRID_NAMES = ("category", "instance", "elevation", "azimuth", "lighting")
LATENT_FACTORS = [0, 2, 3, 4]
IMAGE_SIZE = 64

#: NORB's magic numbers: element type of the matrix.
NORB_DTYPES = {0x1E3D4C55: np.dtype("<u1"), 0x1E3D4C54: np.dtype("<i4"), 0x1E3D4C51: np.dtype("<f4"),
               0x1E3D4C53: np.dtype("<f8"), 0x1E3D4C56: np.dtype("<i2")}
_BLOCK_ROWS = 2048


def smallnorb_files(folder: str) -> dict:
    """``{(chunk, kind): path}`` of the six files under ``folder`` (``.mat`` names)."""
    return {(chunk, kind): os.path.join(folder, SMALLNORB_TEMPLATE.format(chunk, kind))
            for chunk in SMALLNORB_CHUNKS for kind in ("dat", "cat", "info")}


def _require(path: str) -> None:
    """A FileNotFoundError naming ``path`` (a ``.mat``) where neither it nor its ``.mat.gz`` is there."""
    if not os.path.exists(path + ".gz"):
        name = os.path.basename(path)
        paths.require_file(path, "smallnorb", f"{SMALLNORB_URL}{name}.gz (gunzip it)", f"{SMALLNORB_FOLDER}/{name}",
                           "rpu_download_data --dataset=smallnorb")


def _open(path: str):
    """The ``.mat`` file, or its ``.mat.gz`` where only that is there; returns (file, its path)."""
    _require(path)
    if not os.path.exists(path):
        return gzip.open(path + ".gz", "rb"), path + ".gz"
    return open(path, "rb"), path


@contextlib.contextmanager
def _norb_file(path: str) -> Iterator[tuple[Any, str]]:
    """The open ``.mat`` (or ``.mat.gz``) and its path; a read error inside becomes one
    ``ValueError`` naming the file and where to download it again (our own ``ValueError``s,
    which name the file already, pass unchanged)."""
    f, shown = _open(path)
    with f:
        try:
            yield f, shown
        except READ_ERRORS as error:
            if isinstance(error, ValueError) and shown in str(error):
                raise
            raise ValueError(f"{shown}: cannot be read ({type(error).__name__}: {error}); the file is corrupt: "
                             f"download it again from {SMALLNORB_URL}.") from error


def _read_exact(f, num: int, path: str) -> bytes:
    buf = f.read(num)
    if len(buf) != num:
        raise ValueError(f"{path}: the file is truncated ({len(buf)} of {num} bytes in the last read).")
    return buf


def read_norb_header(f, path: str) -> tuple[np.dtype, tuple[int, ...]]:
    """Reads the header of a NORB binary matrix; returns its element type and dimensions."""
    magic, ndim = np.frombuffer(_read_exact(f, 8, path), "<i4")
    if int(magic) not in NORB_DTYPES:
        raise ValueError(f"{path}: not a NORB binary matrix (magic number {int(magic):#x}; known: "
                         f"{', '.join(hex(m) for m in NORB_DTYPES)}).")
    if not 1 <= ndim <= 16:
        raise ValueError(f"{path}: NORB header has {int(ndim)} dimensions.")
    dims = np.frombuffer(_read_exact(f, 4 * max(3, int(ndim)), path), "<i4")[:int(ndim)]
    if (dims < 0).any():
        raise ValueError(f"{path}: NORB header has negative dimensions {dims.tolist()}.")
    return NORB_DTYPES[int(magic)], tuple(int(d) for d in dims)


def read_norb_matrix(path: str, dtype, shape_suffix: tuple, what: str) -> np.ndarray:
    """A whole (small) NORB matrix of type ``dtype`` and shape ``(n,) + shape_suffix``."""
    with _norb_file(path) as (f, shown):
        found, dims = read_norb_header(f, shown)
        if found != np.dtype(dtype) or len(dims) != 1 + len(shape_suffix) or dims[1:] != shape_suffix:
            raise ValueError(f"{shown}: {what} must be a matrix of {np.dtype(dtype).name} of shape "
                             f"(N{''.join(', %d' % d for d in shape_suffix)}), got {found.name} {dims}.")
        n = dims[0] * int(np.prod(shape_suffix, dtype=np.int64)) * found.itemsize
        data = np.frombuffer(_read_exact(f, n, shown), found).reshape(dims)
        if f.read(1):
            raise ValueError(f"{shown}: extra bytes after the {dims} matrix.")
    return data.astype(np.int64)


def read_norb_images(path: str, num: int, size: int, out: np.ndarray, rows: np.ndarray, bar=None) -> None:
    """Reads the first image of each pair of ``dat`` (``num`` rows), resizes it to ``size``
    and writes it to ``out[rows[i]]``; reads ``_BLOCK_ROWS`` rows at a time."""
    with _norb_file(path) as (f, shown):
        found, dims = read_norb_header(f, shown)
        if found != np.uint8 or len(dims) != 4 or dims[0] != num or dims[1] != 2:
            raise ValueError(f"{shown}: dat must be a matrix of uint8 of shape ({num}, 2, H, W) to match "
                             f"its cat and info files, got {found.name} {dims}.")
        h, w = dims[2], dims[3]
        block = np.empty((min(_BLOCK_ROWS, num), size, size), np.uint8)
        for start in range(0, num, _BLOCK_ROWS):
            n = min(_BLOCK_ROWS, num - start)
            raw = np.frombuffer(_read_exact(f, n * 2 * h * w, shown), np.uint8).reshape(n, 2, h, w)
            resize_like_norb(raw[:, 0], size, block[:n])
            out[rows[start:start + n]] = block[:n]
            if bar is not None:
                bar.update(n)
        if f.read(1):
            raise ValueError(f"{shown}: extra bytes after the {dims} matrix.")


@gin.configurable("smallnorb")
class SmallNORB(FactorGridData):
    """smallNORB as disentanglement_lib's ``smallnorb``: ``observation_shape == [64, 64, 1]``,
    factors category (5), elevation (9), azimuth (18), lighting (6).

    Args:
      data_dir: the folder of the six files; default ``$DISENTANGLEMENT_LIB_DATA/small_norb``.
    """

    def __init__(self, data_dir: Optional[str] = None):
        folder = data_dir or paths.data_path(SMALLNORB_FOLDER)
        files = smallnorb_files(folder)
        for path in files.values():  # every file, before reading any
            _require(path)
        require_pil("smallnorb")
        features = []
        for chunk in SMALLNORB_CHUNKS:
            cat = read_norb_matrix(files[chunk, "cat"], np.int32, (), "cat")
            info = read_norb_matrix(files[chunk, "info"], np.int32, (4,), "info")
            if info.shape[0] != cat.shape[0]:
                raise ValueError(f"{files[chunk, 'info']}: {info.shape[0]} rows, its cat file {cat.shape[0]}.")
            info[:, 2] //= 2  # azimuth values are 0, 2, ..., 34, as disentanglement_lib halves them
            features.append(np.column_stack([cat, info]))
        all_features = np.concatenate(features)
        if all_features.shape[0] == 0 or all_features.min() < 0:
            raise ValueError(f"{folder}: the cat and info files must hold rows of non-negative labels.")
        sizes = [int(v) + 1 for v in all_features.max(axis=0)]
        super().__init__(sizes, LATENT_FACTORS)
        grid_index = self.grid.all_factors_to_index(all_features)
        if (all_features.shape[0] != self.grid.num_points
                or np.bincount(grid_index, minlength=self.grid.num_points).max() != 1):
            raise ValueError(f"{folder}: the labels of the training and testing files are not a complete factor "
                             f"grid of sizes {sizes} (category, instance, elevation, azimuth / 2, lighting), "
                             f"each point once: {all_features.shape[0]} rows for {self.grid.num_points} points.")
        if sizes != SMALLNORB_SIZES:
            logger.warning("%s: factor grid %s differs from smallNORB's %s.", folder, sizes, SMALLNORB_SIZES)
        self._images = np.empty((self.grid.num_points, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
        start = 0
        with progress(total=self.grid.num_points, desc="smallnorb: resizing", unit="images") as bar:
            for chunk, chunk_features in zip(SMALLNORB_CHUNKS, features):
                n = chunk_features.shape[0]
                read_norb_images(files[chunk, "dat"], n, IMAGE_SIZE, self._images, grid_index[start:start + n], bar)
                start += n
        self.data_dir = folder

    @property
    def name(self) -> str:
        return "smallnorb"

    @property
    def factor_names(self) -> list[str]:
        """Names of the ground-truth factors, in order."""
        return [GRID_NAMES[i] for i in self.grid.latent_factor_indices]

    @property
    def observation_shape(self) -> list[int]:
        return [IMAGE_SIZE, IMAGE_SIZE, 1]

    def _observations_from_all_factors(self, all_factors, random_state):
        return UINT8_TO_UNIT[self._images[self.grid.all_factors_to_index(all_factors)]][..., None]
