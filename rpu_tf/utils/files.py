"""Crash-safe file writes: a file is either absent, its previous version, or complete."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any, Callable


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically (same-folder temp file, fsync, rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def atomic_write_text(path: str, text: str) -> None:
    """Writes UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_dir(path: str, write: Callable[[str], None]) -> None:
    """Creates directory ``path`` atomically: ``write(tmp_dir)`` fills a sibling temp folder,
    which is then renamed to ``path`` (an existing ``path`` is replaced)."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=parent)
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        write(tmp)
        if os.path.isdir(path):
            old = tmp + ".old"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(parent)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_file(path: str) -> None:
    """Removes ``path`` if it exists, durably (its folder is synced): a later atomic write
    cannot reach the disk before the removal does."""
    try:
        os.remove(path)
    except FileNotFoundError:
        return
    _fsync_dir(os.path.dirname(os.path.abspath(path)))


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def atomic_write_json(path: str, obj: Any) -> None:
    """Writes ``obj`` as indented, key-sorted JSON (no NaN) to ``path`` atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True, allow_nan=False) + "\n").encode())


class DamagedFileError(ValueError):
    """A run file that does not parse: truncated, overwritten or not written by rpu_tf."""


#: What to do about a damaged run file when the reader knows nothing better.
REPAIR = ("Restore it from a copy of the run, or redo the stage that wrote it (rpu_train --redo_from=STAGE for an "
          "rPU-VAE run), or start the run afresh with --overwrite.")


def damaged(path: str, what: str, repair: str = REPAIR) -> DamagedFileError:
    """The one-line error for a damaged run file: which file, what is wrong, what to do
    (``repair``: the command that rebuilds it, where the reader knows it)."""
    return DamagedFileError(f"{path}: {what}; the file is damaged (truncated, or changed by hand). {repair}")


def read_json(path: str) -> Any:
    """The JSON value in ``path``; :class:`DamagedFileError` (naming the file) when it is not
    valid UTF-8 JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except UnicodeDecodeError as error:
        raise damaged(path, f"not UTF-8 text (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise damaged(path, f"not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})") from None


def read_json_lines(path: str) -> list[Any]:
    """The JSON value of every non-empty line of ``path``; :class:`DamagedFileError` naming the
    file and the line when one is not valid UTF-8 JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except UnicodeDecodeError as error:
        raise damaged(path, f"not UTF-8 text (byte {error.start})") from None
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise damaged(path, f"line {number} is not valid JSON ({error.msg})") from None
    return out
