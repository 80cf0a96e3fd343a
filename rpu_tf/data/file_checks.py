"""Cheap up-front checks of data files, and read errors that name the file.

A broken file found when it is first sampled can stop a run hours in; what can be checked in
seconds is checked when the data set is built: the header of every image file of a folder, a
sample of rows of an HDF5 image array (one read per row, so corrupt chunks among them fail
now). Reads during training go through :func:`reading`, so their errors name the file.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
import zlib
from typing import Iterator, Sequence

import numpy as np

#: Leading bytes of each image format ImageFolder reads.
MAGIC = {".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
         ".bmp": (b"BM",), ".gif": (b"GIF87a", b"GIF89a")}

#: Errors a corrupt or unreadable file raises while it is read (h5py raises OSError and
#: ValueError, zip members zlib.error and BadZipFile).
READ_ERRORS = (OSError, ValueError, KeyError, EOFError, zlib.error, zipfile.BadZipFile)


def check_image_headers(files: Sequence[str], name: str) -> None:
    """Raises ``ValueError`` naming the files (the first 5 and how many) whose first bytes are
    not those of their extension's format (empty, truncated, or another format renamed)."""
    bad = []
    for path in files:
        magic = MAGIC.get(os.path.splitext(path)[1].lower())
        if magic is None:
            continue
        try:
            with open(path, "rb") as f:
                head = f.read(8)
        except OSError as error:
            bad.append(f"{path} ({error.strerror or error})")
            continue
        if not any(head.startswith(m) for m in magic):
            bad.append(f"{path} ({'empty' if not head else 'not a ' + os.path.splitext(path)[1][1:] + ' file'})")
    if bad:
        raise ValueError(f"{name}: {len(bad)} of {len(files)} image files cannot be images: {', '.join(bad[:5])}"
                         f"{', ...' if len(bad) > 5 else ''}. Remove or replace them.")


def check_array_sample(dataset, path: str, name: str, num_rows: int = 64, seed: int = 0) -> None:
    """Reads the first, the last and ``num_rows`` random rows of ``dataset`` (an h5py dataset)
    one at a time; raises ``ValueError`` naming ``path`` and the row for the first that fails."""
    n = int(dataset.shape[0])
    rows = sorted({0, n - 1, *np.random.RandomState(seed).randint(0, n, size=min(num_rows, n)).tolist()})
    for row in rows:
        try:
            values = dataset[row]
        except READ_ERRORS as error:
            raise ValueError(f"{name}: {path} cannot be read at row {row} of {n} ({error}); the file is "
                             "corrupt: copy or download it again.") from error
        check_finite(np.asarray(values), f"{path} at row {row}", name)


def check_finite(values: np.ndarray, where: str, name: str) -> None:
    """Raises ``ValueError`` naming ``where`` when float ``values`` hold NaN or infinities
    (they would become black pixels, silently: NaN passes every range check)."""
    if np.issubdtype(values.dtype, np.floating) and values.size:
        bad = int(np.count_nonzero(~np.isfinite(values)))
        if bad:
            raise ValueError(f"{name}: {where} holds {bad} of {values.size} values that are NaN or infinite; "
                             "images must be finite (uint8 0..255 or floats in [0, 1]): fix the array.")


@contextlib.contextmanager
def reading(path: str, name: str) -> Iterator[None]:
    """Turns a read error inside the block into ``OSError`` naming ``path`` (and what to do)."""
    try:
        yield
    except READ_ERRORS as error:
        if (isinstance(error, OSError) and getattr(error, "filename", None)) or path in str(error):
            raise  # it names the file already
        raise OSError(f"{name}: reading {path} failed ({type(error).__name__}: {error}); the file may be corrupt "
                      "or its disk unavailable: check it, copy or download it again.") from error
