"""Nested dicts of numpy arrays in ``.npz`` files (member and group states, a stage's labels),
written atomically with a checksum record beside them (:mod:`rpu_tf.utils.checksums`).

Nested dicts are flattened with ``/`` in the key; :func:`load_state` rebuilds them, checking
the file against its record first (a file without one, left by a kill between the file and its
record, is read unchecked).
"""

from __future__ import annotations

import io
import zipfile
from typing import Any, Mapping

import numpy as np

from rpu_tf.utils.checksums import read_checked, write_checked
from rpu_tf.utils.files import REPAIR, DamagedFileError, damaged


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
    """Saves a (nested) dict of arrays to ``path`` (.npz) atomically, with its checksum record."""
    buf = io.BytesIO()
    np.savez(buf, **_flatten(state))
    write_checked(path, buf.getvalue())


class CorruptCheckpointError(DamagedFileError):
    """A state file exists but cannot be read: it does not parse, or differs from its checksum."""


def load_state(path: str, repair: str = REPAIR) -> dict:
    """Loads a state saved by :func:`save_state`; :class:`CorruptCheckpointError` (one line:
    the file, what is wrong, ``repair``) if it is unreadable or differs from its record."""
    try:
        data = read_checked(path, repair)
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            return _unflatten({k: arrays[k] for k in arrays.files})
    except DamagedFileError as e:
        raise CorruptCheckpointError(str(e)) from None
    except FileNotFoundError:
        raise CorruptCheckpointError(f"{path}: cannot be read: it is missing; {repair}") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as e:
        raise CorruptCheckpointError(str(damaged(path, f"cannot be read ({e})", repair))) from e
