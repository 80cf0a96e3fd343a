"""Crash-safe files: atomic writes (temp file + fsync + rename) and member checkpoints.

A file written here is either absent, the previous version, or complete: a kill at any
moment leaves a loadable state. Member states are ``.npz`` files of named arrays (nested
dicts are flattened with ``/`` in the key).
"""

from rpu_tf.utils.files import atomic_write_bytes, atomic_write_json, read_json
from rpu_tf.utils.state_files import CorruptCheckpointError, load_state, save_state

__all__ = ["atomic_write_bytes", "atomic_write_json", "read_json", "save_state", "load_state",
           "CorruptCheckpointError"]
