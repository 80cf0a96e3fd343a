"""Downloads the public data files into disentanglement_lib's layout, checked against the
publishers' checksums (``rpu_download_data``, like disentanglement_lib's
``dlib_download_data``).

Each file is streamed to a temporary file next to its target, hashed on the way, and renamed
into place only when its checksum matches; a mismatch leaves nothing behind. A file already
in place is checked instead of downloaded again. Files published compressed (smallNORB's
``.mat.gz``, the Cars3D archive) are checked as published, then unpacked where
disentanglement_lib reads them; an unpacked file in place is checked by its size where that
is known (smallNORB), else only found there.

Checksums and where they come from:

- dSprites (``dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``, the file
  disentanglement_lib reads): the git blob id of the file in DeepMind's repository
  ``deepmind/dsprites-dataset`` (``git ls-tree HEAD``), i.e. SHA-1 of
  ``b"blob <size>\\0" + content``; any byte changed changes it.
- 3dshapes (``3dshapes/3dshapes.h5``): SHA-256 and size as TensorFlow Datasets records them
  for the same URL (``tensorflow_datasets/url_checksums/shapes3d.txt``).
- smallNORB (the six ``small_norb/smallnorb-*.mat``): SHA-256 and size of each ``.mat.gz`` as
  TensorFlow Datasets records them for the same URLs
  (``tensorflow_datasets/url_checksums/smallnorb.txt``); the unpacked sizes follow from the
  NORB header and the dimensions in the file names (a file disentanglement_lib can read has
  exactly that size).
- Cars3D (``cars/*.mat`` from ``nips2015-analogy-data.tar.gz``): MD5 of the archive as
  nmichlo/disent records it to check the same URL (``Cars3dData.datafile``'s ``uri_hash``,
  mode ``full``: the whole file, ``disent/dataset/data/_groundtruth__cars3d.py``).

No entry (the loaders' errors name the URLs): MPI3D (its publisher moved the files to Hugging
Face; the only checksums on record are disent's MD5s of older Google Storage copies, one of
which was later replaced as corrupt) and the Scream picture (no published checksum).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import logging
import os
import shutil
import tarfile
import urllib.request
from typing import Callable, Optional

from rpu_tf.data import paths
from rpu_tf.data.cars3d import CARS3D_FOLDER
from rpu_tf.data.dsprites import DSPRITES_FILE
from rpu_tf.data.shapes3d import SHAPES3D_FILE
from rpu_tf.data.smallnorb import SMALLNORB_FOLDER, SMALLNORB_TEMPLATE, SMALLNORB_URL

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20


@dataclasses.dataclass(frozen=True)
class DataFile:
    """One downloadable file.

    Attributes:
      name: the data set's name on the command line.
      url: where it is downloaded from.
      relative_path: its place under ``$DISENTANGLEMENT_LIB_DATA``.
      algorithm: ``"sha256"``, ``"md5"`` or ``"git-blob-sha1"`` (SHA-1 of
        ``b"blob <size>\\0" + content``).
      digest: the expected checksum of the download, lowercase hex.
      size: the expected size of the download in bytes, or None where the source gives none.
      used_by: the ``dataset.name`` values that read it.
      unpack: None (the download is the file), ``"gzip"`` (it is gunzipped into
        ``relative_path``) or ``"tar:<prefix>"`` (the files of the archive's folder ``<prefix>``
        are extracted into the folder ``relative_path``).
      unpacked_size: the size of the gunzipped file, checked where it is known.
    """

    name: str
    url: str
    relative_path: tuple
    algorithm: str
    digest: str
    size: Optional[int]
    used_by: tuple
    unpack: Optional[str] = None
    unpacked_size: Optional[int] = None


FILES = {
    "dsprites": DataFile(
        "dsprites", "https://github.com/deepmind/dsprites-dataset/raw/master/" + DSPRITES_FILE[1], DSPRITES_FILE,
        "git-blob-sha1", "d98996d3f8ee1550e06b9d4ed78d0beb478910d5", None,
        ("dsprites_full", "dsprites_noshape", "color_dsprites", "noisy_dsprites")),
    "shapes3d": DataFile(
        "shapes3d", "https://storage.googleapis.com/3d-shapes/3dshapes.h5", SHAPES3D_FILE,
        "sha256", "0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785", 267573662, ("shapes3d",)),
    "cars3d": DataFile(
        "cars3d", "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz", (CARS3D_FOLDER,),
        "md5", "4e866a7919c1beedf53964e6f7a23686", None, ("cars3d",), unpack="tar:data/cars/"),
}

#: smallNORB's files: (chunk, kind) -> (sha256 and size of the .mat.gz, size of the .mat).
_SMALLNORB = {
    ("5x46789x9x18x6x2x96x96-training", "dat"): (
        "5ffd6272a07d32695ee1082a26a41a93a37aab8c28da047f8c34ed348d214873", 131896188, 24 + 24300 * 2 * 96 * 96),
    ("5x46789x9x18x6x2x96x96-training", "cat"): (
        "2784e542c1922060691090952b6cd6278879a216c90f81476f0f00256d42cdaa", 348, 20 + 24300 * 4),
    ("5x46789x9x18x6x2x96x96-training", "info"): (
        "de7eb932ebe7a4ee16217fead60660d0eb3d23632c2f4d1c51f88c501c17bf32", 71052, 20 + 24300 * 4 * 4),
    ("5x01235x9x18x6x2x96x96-testing", "dat"): (
        "cf7104eed3e51174d2f65b66d1e5878b9da233b886f161b0d88f4510ba2c7474", 130799817, 24 + 24300 * 2 * 96 * 96),
    ("5x01235x9x18x6x2x96x96-testing", "cat"): (
        "ecaf6d5bb8c3bc5eab9cf0258f6d2198dd474e016e374836fc097f2e5ff509ff", 347, 20 + 24300 * 4),
    ("5x01235x9x18x6x2x96x96-testing", "info"): (
        "16adf314226327ee006d1a44db8cfef52773c06c829951d5653a9f6f310248a2", 10428, 20 + 24300 * 4 * 4),
}


def _smallnorb_files() -> dict[str, DataFile]:
    out = {}
    for (chunk, kind), (digest, size, unpacked) in _SMALLNORB.items():
        name = SMALLNORB_TEMPLATE.format(chunk, kind)
        out[f"smallnorb-{chunk.rsplit('-', 1)[1]}-{kind}"] = DataFile(
            "smallnorb", SMALLNORB_URL + name + ".gz", (SMALLNORB_FOLDER, name), "sha256", digest, size,
            ("smallnorb",), unpack="gzip", unpacked_size=unpacked)
    return out


FILES.update(_smallnorb_files())

#: ``rpu_download_data --dataset`` names -> the files each downloads.
DOWNLOADS: dict[str, tuple[DataFile, ...]] = {
    "cars3d": (FILES["cars3d"],),
    "dsprites": (FILES["dsprites"],),
    "shapes3d": (FILES["shapes3d"],),
    "smallnorb": tuple(spec for key, spec in FILES.items() if key.startswith("smallnorb-")),
}


class ChecksumError(ValueError):
    """A downloaded or present file does not match its published checksum."""


def _hasher(algorithm: str, size: int):
    if algorithm == "sha256":
        return hashlib.sha256()
    if algorithm == "md5":
        return hashlib.md5(usedforsecurity=False)
    if algorithm == "git-blob-sha1":
        h = hashlib.sha1()
        h.update(b"blob %d\0" % size)
        return h
    raise ValueError(f"unknown checksum algorithm {algorithm!r}; known: sha256, md5, git-blob-sha1.")


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
        if spec.unpack is None:
            _check(target, spec)
            logger.info("%s: %s is already there and matches its checksum.", spec.name, target)
        else:
            _check_unpacked(target, spec)
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
        if spec.unpack is None:
            os.replace(partial, target)
        else:
            _unpack(partial, target, spec)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    logger.info("%s: %s written (%s checked%s).", spec.name, target, spec.algorithm,
                ", then unpacked" if spec.unpack else "")
    return target


def _check_unpacked(target: str, spec: DataFile) -> None:
    """Checks an unpacked file (or folder) in place as far as possible: its size where known."""
    if spec.unpacked_size is not None and os.path.getsize(target) != spec.unpacked_size:
        raise ChecksumError(f"{spec.name}: {target} has {os.path.getsize(target):,} bytes, the unpacked published "
                            f"file {spec.unpacked_size:,}; it is incomplete or another file. Delete it and run "
                            "rpu_download_data again.")
    logger.info("%s: %s is already there%s.", spec.name, target,
                " with its unpacked size" if spec.unpacked_size is not None else
                " (unpacked from a checked download; not checked again)")


def _unpack(archive: str, target: str, spec: DataFile) -> None:
    """Unpacks the checked download ``archive`` to ``target`` through a staging path."""
    staged = target + ".unpack"
    try:
        if spec.unpack == "gzip":
            with gzip.open(archive, "rb") as src, open(staged, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK_BYTES)
            _check_unpacked(staged, spec)
        elif spec.unpack and spec.unpack.startswith("tar:"):
            prefix = spec.unpack[len("tar:"):]
            os.makedirs(staged)
            with tarfile.open(archive, "r:*") as tar:
                for member in tar:
                    name = member.name[2:] if member.name.startswith("./") else member.name
                    rest = name[len(prefix):]
                    if member.isfile() and name.startswith(prefix) and rest and "/" not in rest and rest != "..":
                        with tar.extractfile(member) as src, open(os.path.join(staged, rest), "wb") as out:
                            shutil.copyfileobj(src, out, CHUNK_BYTES)
            if not os.listdir(staged):
                raise ChecksumError(f"{spec.name}: the archive from {spec.url} has no files under {prefix}.")
        else:
            raise ValueError(f"{spec.name}: unknown unpack {spec.unpack!r}; known: gzip, tar:<folder>.")
        os.replace(staged, target)
    finally:
        if os.path.isdir(staged):
            shutil.rmtree(staged)
        elif os.path.exists(staged):
            os.remove(staged)
