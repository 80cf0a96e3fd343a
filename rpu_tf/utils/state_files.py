"""Nested dicts of numpy arrays in ``.npz`` files (member and group states), written atomically.

Nested dicts are flattened with ``/`` in the key; :func:`load_state` rebuilds them.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any, Mapping

import numpy as np

from rpu_tf.utils.files import atomic_write_bytes


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
