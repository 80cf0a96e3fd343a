"""Crash-safe files: atomic writes (temp file + fsync + rename) and member checkpoints.

A file written here is either absent, the previous version, or complete: a kill at any
moment leaves a loadable state. Member states are ``.npz`` files of named arrays (nested
dicts are flattened with ``/`` in the key).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from typing import Any, Mapping

import numpy as np


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
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def atomic_write_json(path: str, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True, allow_nan=False) + "\n").encode())


def read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _flatten(state: Mapping[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    out = {}
    for key, value in state.items():
        if "/" in str(key):
            raise ValueError(f"state keys may not contain '/': {key!r}")
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "/"))
        else:
            out[name] = np.asarray(value)
    return out


def _unflatten(flat: Mapping[str, np.ndarray]) -> dict:
    out: dict = {}
    for name, value in flat.items():
        node = out
        parts = name.split("/")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def save_state(path: str, state: Mapping[str, Any]) -> None:
    """Saves a (nested) dict of arrays to ``path`` (.npz) atomically."""
    buf = io.BytesIO()
    np.savez(buf, **_flatten(state))
    atomic_write_bytes(path, buf.getvalue())


class CorruptCheckpointError(ValueError):
    """A checkpoint file exists but cannot be read."""


def load_state(path: str) -> dict:
    """Loads a state saved by :func:`save_state`; ``CorruptCheckpointError`` if unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return _unflatten({k: data[k] for k in data.files})
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as e:
        raise CorruptCheckpointError(f"checkpoint {path} cannot be read: {e}") from e
