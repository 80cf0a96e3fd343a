"""Downloads the public data files into disentanglement_lib's layout, checked against the
publishers' checksums (``rpu_download_data``, like disentanglement_lib's
``dlib_download_data``).

Each file is streamed to a temporary file next to its target, hashed on the way, and renamed
into place only when its checksum matches; a mismatch leaves nothing behind. A file already
in place is checked instead of downloaded again.

Checksums and where they come from:

- dSprites (``dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``, the file
  disentanglement_lib reads): the git blob id of the file in DeepMind's repository
  ``deepmind/dsprites-dataset`` (``git ls-tree HEAD``), i.e. SHA-1 of
  ``b"blob <size>\\0" + content``; any byte changed changes it.
- 3dshapes (``3dshapes/3dshapes.h5``): SHA-256 and size as TensorFlow Datasets records them
  for the same URL (``tensorflow_datasets/url_checksums/shapes3d.txt``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import urllib.request
from typing import Callable, Optional

from rpu_tf.data import paths
from rpu_tf.data.dsprites import DSPRITES_FILE
from rpu_tf.data.shapes3d import SHAPES3D_FILE

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20


@dataclasses.dataclass(frozen=True)
class DataFile:
    """One downloadable file.

    Attributes:
      name: the data set's name on the command line.
      url: where it is downloaded from.
      relative_path: its place under ``$DISENTANGLEMENT_LIB_DATA``.
      algorithm: ``"sha256"`` or ``"git-blob-sha1"`` (SHA-1 of ``b"blob <size>\\0" + content``).
      digest: the expected checksum, lowercase hex.
      size: the expected size in bytes, or None where the source gives none.
      used_by: the ``dataset.name`` values that read it.
    """

    name: str
    url: str
    relative_path: tuple
    algorithm: str
    digest: str
    size: Optional[int]
    used_by: tuple


FILES = {
    "dsprites": DataFile(
        "dsprites", "https://github.com/deepmind/dsprites-dataset/raw/master/" + DSPRITES_FILE[1], DSPRITES_FILE,
        "git-blob-sha1", "d98996d3f8ee1550e06b9d4ed78d0beb478910d5", None,
        ("dsprites_full", "dsprites_noshape", "color_dsprites", "noisy_dsprites")),
    "shapes3d": DataFile(
        "shapes3d", "https://storage.googleapis.com/3d-shapes/3dshapes.h5", SHAPES3D_FILE,
        "sha256", "0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785", 267573662, ("shapes3d",)),
}


class ChecksumError(ValueError):
    """A downloaded or present file does not match its published checksum."""


def _hasher(algorithm: str, size: int):
    if algorithm == "sha256":
        return hashlib.sha256()
    if algorithm == "git-blob-sha1":
        h = hashlib.sha1()
        h.update(b"blob %d\0" % size)
        return h
    raise ValueError(f"unknown checksum algorithm {algorithm!r}; known: sha256, git-blob-sha1.")


def file_digest(path: str, algorithm: str) -> str:
    """The ``algorithm`` checksum of the file at ``path`` (lowercase hex)."""
    h = _hasher(algorithm, os.path.getsize(path))
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            h.update(chunk)
    return h.hexdigest()


def _check(path: str, spec: DataFile) -> None:
    size = os.path.getsize(path)
    if spec.size is not None and size != spec.size:
        raise ChecksumError(f"{spec.name}: {path} has {size:,} bytes, the published file {spec.size:,}; "
                            f"it is incomplete or another file. Delete it and run rpu_download_data again.")
    digest = file_digest(path, spec.algorithm)
    if digest != spec.digest:
        raise ChecksumError(f"{spec.name}: {path} has {spec.algorithm} {digest}, the published file {spec.digest}; "
                            "it is corrupt or another file. Delete it and run rpu_download_data again.")


def download(spec: DataFile, data_dir: Optional[str] = None, url: Optional[str] = None,
             opener: Callable = urllib.request.urlopen, timeout: float = 60.0) -> str:
    """Puts ``spec``'s file under ``data_dir`` (default: the data root) and returns its path.

    Args:
      spec: the file (:data:`FILES` holds the known ones).
      data_dir: the data root (``$DISENTANGLEMENT_LIB_DATA``'s folder).
      url: another place to download the same file from (a mirror, or a ``file://`` URL); the
        checksum is the same.
      opener: ``urlopen``-like callable (tests).
      timeout: seconds without data before the download fails.

    Raises:
      ChecksumError: the file (downloaded or present) does not match; nothing is kept.
      OSError: the download or the write failed (``urllib.error.URLError`` included).
    """
    target = os.path.join(data_dir or paths.data_root(), *spec.relative_path)
    if os.path.exists(target):
        _check(target, spec)
        logger.info("%s: %s is already there and matches its checksum.", spec.name, target)
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    source = url or spec.url
    partial = target + ".download"
    logger.info("%s: downloading %s -> %s", spec.name, source, target)
    from rpu_tf.utils.progress import progress

    try:
        with opener(source, timeout=timeout) as response, open(partial, "wb") as out:
            length = response.headers.get("Content-Length") if getattr(response, "headers", None) else None
            total = int(length) if length and length.isdigit() else spec.size
            with progress(total=total, desc=spec.name, unit="B") as bar:
                for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
        _check(partial, spec)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    logger.info("%s: %s written (%s bytes, %s checked).", spec.name, target, f"{os.path.getsize(target):,}",
                spec.algorithm)
    return target
