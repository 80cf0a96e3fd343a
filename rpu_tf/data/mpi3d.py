"""MPI3D (toy, realistic, real) from its public ``.npz`` files, in disentanglement_lib's layout.

Files: ``$DISENTANGLEMENT_LIB_DATA/{mode}/{mode}.npz`` for ``mode`` in ``mpi3d_toy``,
``mpi3d_realistic``, ``mpi3d_real`` (https://github.com/rr-learning/disentanglement_dataset).
Array used: ``images``, uint8 ``(N, 64, 64, 3)``, the row-major factor grid object colour x
object shape x object size x camera height x background colour x first DOF x second DOF.

The grid is told by ``N``: 460800 images are 4 x 4 x 2 x 3 x 3 x 40 x 40 (disentanglement_lib's
``mpi3d_toy`` and ``mpi3d_realistic``: the files of the NeurIPS 2019 challenge, which
``dlib_download_data`` fetches for ``mpi3d_toy``), 1036800 images 6 x 6 x 2 x 3 x 3 x 40 x 40
(its ``mpi3d_real``, and every file of the data set's current release). disentanglement_lib
assumes the first grid for toy and realistic whatever the file holds; here a 1036800-image
toy file loads with its own 6 x 6 grid (and a warning that the factor sizes differ from
disentanglement_lib's). Observations ``[64, 64, 3]`` float32 equal disentanglement_lib's
``images / 255.`` (float64 there) value for value.

Memory: an uncompressed ``.npz`` (as published) is memory-mapped and read per batch, so
memory stays at the size of a batch; ``in_memory=True``, or a compressed file, loads the
images once: 5.7 GB (460800 images) or 12.7 GB (1036800), as disentanglement_lib does.
"""

from __future__ import annotations

import logging
import os
import zipfile
from typing import Optional

import gin
import numpy as np

from rpu_tf.data import paths
from rpu_tf.data.factor_grid import FactorGridData
from rpu_tf.data.file_checks import READ_ERRORS, reading
from rpu_tf.data.pil_images import UINT8_TO_UNIT

logger = logging.getLogger(__name__)

MPI3D_URLS = {
    "mpi3d_toy": "https://huggingface.co/datasets/waleedgondal/mpi3d/resolve/main/mpi3d_toy.npz",
    "mpi3d_realistic": "https://huggingface.co/datasets/waleedgondal/mpi3d/resolve/main/mpi3d_realistic.npz",
    "mpi3d_real": "https://huggingface.co/datasets/waleedgondal/mpi3d/resolve/main/mpi3d_real.npz",
}
MPI3D_PAGE = "https://github.com/rr-learning/disentanglement_dataset"
#: disentanglement_lib's grid per mode.
MPI3D_SIZES = {"mpi3d_toy": [4, 4, 2, 3, 3, 40, 40], "mpi3d_realistic": [4, 4, 2, 3, 3, 40, 40],
               "mpi3d_real": [6, 6, 2, 3, 3, 40, 40]}
#: Number of images -> grid.
GRIDS = {460800: [4, 4, 2, 3, 3, 40, 40], 1036800: [6, 6, 2, 3, 3, 40, 40]}
FACTOR_NAMES = ("object_color", "object_shape", "object_size", "camera_height", "background_color",
                "first_dof", "second_dof")


def mpi3d_file(mode: str) -> tuple[str, str]:
    return (mode, mode + ".npz")


def _npy_member_layout(zf: zipfile.ZipFile, path: str, key: str):
    """``(shape, dtype, data offset in the file or None where compressed)`` of ``key`` in the npz."""
    member = key + ".npy"
    if member not in zf.namelist():
        found = sorted(n[:-4] for n in zf.namelist() if n.endswith(".npy"))
        raise ValueError(f"{path}: no array {key!r} in the file (found {found}); is this an MPI3D file?")
    info = zf.getinfo(member)
    with zf.open(member) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"{path}: {member} has .npy format version {version}; 1.0 or 2.0 expected.")
        header = f.tell()
    if fortran:
        raise ValueError(f"{path}: {key} is stored in Fortran order; C order expected.")
    offset = None
    if info.compress_type == zipfile.ZIP_STORED:
        with open(path, "rb") as raw:  # the member's data follows its local header
            raw.seek(info.header_offset)
            local = raw.read(30)
        if local[:4] != b"PK\x03\x04":
            raise ValueError(f"{path}: broken zip local header of {member}.")
        name_len, extra_len = int.from_bytes(local[26:28], "little"), int.from_bytes(local[28:30], "little")
        offset = info.header_offset + 30 + name_len + extra_len + header
    return tuple(int(s) for s in shape), dtype, offset


@gin.configurable("mpi3d")
class MPI3D(FactorGridData):
    """One of the MPI3D data sets (disentanglement_lib's ``mpi3d_toy``, ``mpi3d_realistic``,
    ``mpi3d_real``): seven factors, ``observation_shape == [64, 64, 3]``.

    Args:
      mode: ``"mpi3d_toy"``, ``"mpi3d_realistic"`` or ``"mpi3d_real"``.
      data_path: the ``.npz``; default ``$DISENTANGLEMENT_LIB_DATA/{mode}/{mode}.npz``.
      in_memory: load every image once instead of memory-mapping the file.
    """

    def __init__(self, mode: str = "mpi3d_toy", data_path: Optional[str] = None, in_memory: bool = False):
        if mode not in MPI3D_SIZES:
            raise ValueError(f"unknown MPI3D mode {mode!r}; known: {', '.join(MPI3D_SIZES)}.")
        self.mode = mode
        path = data_path or paths.data_path(*mpi3d_file(mode))
        paths.require_file(path, mode, f"{MPI3D_URLS[mode]} (see {MPI3D_PAGE})", "/".join(mpi3d_file(mode)))
        try:
            zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile as e:
            raise ValueError(f"{path}: not an .npz (zip) file: {e}") from e
        with zf:
            shape, dtype, offset = _npy_member_layout(zf, path, "images")
            if len(shape) != 4 or shape[3] != 3 or dtype != np.uint8:
                raise ValueError(f"{path}: images must be uint8 of shape (N, H, W, 3), got {dtype} {shape}.")
            if shape[0] not in GRIDS:
                raise ValueError(f"{path}: {shape[0]} images; an MPI3D file holds "
                                 f"{' or '.join(str(n) for n in GRIDS)} (the factor grids {list(GRIDS.values())}).")
            if offset is not None and os.path.getsize(path) < offset + int(np.prod(shape, dtype=np.int64)):
                raise ValueError(f"{path}: the file is truncated (images {shape} do not fit); download it again "
                                 f"from {MPI3D_URLS[mode]}.")
            self._images = None
            if in_memory or offset is None:
                try:
                    with zf.open("images.npy") as f:
                        self._images = np.lib.format.read_array(f, allow_pickle=False)
                except (*READ_ERRORS, zipfile.BadZipFile) as e:
                    raise ValueError(f"{path}: images cannot be read ({type(e).__name__}: {e}); the file is "
                                     f"corrupt: download it again from {MPI3D_URLS[mode]}.") from e
        sizes = GRIDS[shape[0]]
        if sizes != MPI3D_SIZES[mode]:
            logger.warning("%s: %d images, the factor grid %s; disentanglement_lib's %s assumes %s.",
                           path, shape[0], sizes, mode, MPI3D_SIZES[mode])
        super().__init__(sizes)
        self.data_path = path
        self._layout = (shape, offset)
        self._map = None

    @property
    def name(self) -> str:
        return self.mode

    factor_names = property(lambda self: list(FACTOR_NAMES), doc="Names of the latent factors, in order.")

    @property
    def observation_shape(self) -> list[int]:
        return list(self._layout[0][1:])

    def _observations_from_all_factors(self, all_factors, random_state):
        return self._read(self.grid.all_factors_to_index(all_factors))

    def _observations_from_valid_indices(self, indices, random_state):
        return self._read(indices)

    def _read(self, indices: np.ndarray) -> np.ndarray:
        if self._images is not None:
            raw = self._images[indices]
        else:
            with reading(self.data_path, self.mode):
                if self._map is None:
                    shape, offset = self._layout
                    self._map = np.memmap(self.data_path, np.uint8, "r", offset=offset, shape=shape)
                raw = self._map[indices]
        return UINT8_TO_UNIT[raw]

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_map"] = None  # a memory map pickles as a full copy; it is reopened on first read
        return state
