"""Checksums beside the run files whose content later decides results.

A checked file ``F`` (a stage's surrogate labels, a training or PBT member checkpoint, a
training config ``train.gin``, a Keras model file) has ``F.sha256`` beside it, in
``sha256sum``'s format (``<hex>  <name of F>``), so ``sha256sum -c F.sha256`` checks it by hand.

Writing (:func:`write_checked`): the old record is removed first, then ``F`` is written
atomically, then its record. A kill in between leaves ``F`` without a record, never a record of
another version of ``F``.

Reading (:func:`read_checked`, :func:`verify`): a file whose record exists must match it,
else :class:`~rpu_tf.utils.files.DamagedFileError` naming the file, what is wrong and the
command that repairs it. **A file without a record is read unchecked**: a kill between the
two writes above leaves one (the file is complete: it was replaced atomically). A record guards
against damage (truncation, a disk error, an edit by hand or another program), not against
someone who rewrites the record too.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Optional

from rpu_tf.utils.files import REPAIR, atomic_write_bytes, damaged, remove_file

#: The record of ``F`` is ``F`` + this suffix.
SUFFIX = ".sha256"
_RECORD = re.compile(r"([0-9a-f]{64}) [ *](.+)\n?")
_CHUNK = 1 << 20


def record_file(path: str) -> str:
    """The checksum record of ``path``."""
    return path + SUFFIX


def digest(data: bytes) -> str:
    """The sha256 of ``data``, as hex."""
    return hashlib.sha256(data).hexdigest()


def _file_digest(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            sha.update(chunk)
    return sha.hexdigest()


def forget(path: str) -> None:
    """Removes ``path``'s record (before ``path`` is rewritten by other means than
    :func:`write_checked`; :func:`record` it afterwards)."""
    remove_file(record_file(path))


def _write_record(path: str, hex_digest: str) -> None:
    atomic_write_bytes(record_file(path), f"{hex_digest}  {os.path.basename(path)}\n".encode())


def write_checked(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically, with its record beside it."""
    forget(path)
    atomic_write_bytes(path, data)
    _write_record(path, digest(data))


def write_checked_text(path: str, text: str) -> None:
    """:func:`write_checked` of UTF-8 ``text``."""
    write_checked(path, text.encode("utf-8"))


def record(path: str) -> None:
    """Records the checksum of ``path`` as it is on disk (a file another library wrote
    atomically after :func:`forget`, e.g. a Keras model)."""
    _write_record(path, _file_digest(path))


def expected_digest(path: str, repair: str = REPAIR) -> Optional[str]:
    """The sha256 recorded for ``path``; None where there is no record (not checked).
    A record that does not parse, or names another file, is itself damaged."""
    try:
        with open(record_file(path), encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        text = ""
    match = _RECORD.fullmatch(text)
    if match is None or match.group(2) != os.path.basename(path):
        raise damaged(record_file(path), f"not a sha256 record of {os.path.basename(path)}", repair)
    return match.group(1)


def _check(path: str, expected: Optional[str], actual: str, size: int, repair: str) -> None:
    if expected is not None and actual != expected:
        raise damaged(path, f"cannot be read: its content ({size} bytes) differs from the sha256 recorded in "
                            f"{os.path.basename(record_file(path))} when it was written", repair)


def read_checked(path: str, repair: str = REPAIR) -> bytes:
    """The bytes of ``path``, checked against its record if it has one (see the module
    docstring); :class:`~rpu_tf.utils.files.DamagedFileError` when they differ."""
    expected = expected_digest(path, repair)
    with open(path, "rb") as f:
        data = f.read()
    _check(path, expected, digest(data), len(data), repair)
    return data


def verify(path: str, repair: str = REPAIR) -> None:
    """:func:`read_checked` without keeping the bytes (for large files read by others)."""
    expected = expected_digest(path, repair)
    if expected is not None:
        _check(path, expected, _file_digest(path), os.path.getsize(path), repair)
