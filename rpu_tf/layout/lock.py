"""One writer per run directory: an advisory lock held while a command writes it.

:func:`run_lock` takes an exclusive ``flock`` on ``RUN/.rpu_lock`` (created if missing) and
writes the holder's pid, host and start time into it. A second command on the same directory
fails at once with :class:`RunLockedError` naming the holder. The kernel releases the lock
when its process ends, however it ends (a kill included), so a lock file left behind by a
killed run never blocks the next one. The overwrite guard leaves the lock file in place
(:func:`rpu_tf.layout.guard.prepare_directory`). Once it holds the lock it deletes the
temporary files of atomic writes that a killed writer left (:func:`remove_stale_temporaries`).
Without ``fcntl`` (not POSIX) there is no lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import socket
import time
from typing import Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

logger = logging.getLogger(__name__)

LOCK_FILE = ".rpu_lock"

#: Names of the temporary files and folders rpu_tf's atomic writes use (``.NAME.<random>.tmp``,
#: ``.NAME.<random>.tmp.old``, ``.NAME.tmp.keras``): what a killed writer may leave behind.
TEMP_NAME = re.compile(r"^\..+\.tmp(\.old|\.keras)?$")


class RunLockedError(FileExistsError):
    """Another process is writing the run directory."""


@contextlib.contextmanager
def run_lock(path: str) -> Iterator[None]:
    """Holds the run directory ``path`` (created if missing) for this process."""
    os.makedirs(path, exist_ok=True)
    if fcntl is None:
        yield
        return
    lock_path = os.path.join(path, LOCK_FILE)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "a process"
            raise RunLockedError(f"{path} is being written by another command ({holder}); wait for it to "
                                 "finish or choose another directory.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since "
                      f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode(), 0)
        remove_stale_temporaries(path)  # no other writer now: whatever is temporary is left over
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def remove_stale_temporaries(path: str) -> list[str]:
    """Deletes the temporary files and folders (:data:`TEMP_NAME`) under ``path`` that killed
    writers left behind; only call it while holding the run's lock. Returns what it deleted."""
    removed = []
    for folder, dirs, files in os.walk(path):
        for name in [d for d in dirs if TEMP_NAME.match(d)] + [f for f in files if TEMP_NAME.match(f)]:
            target = os.path.join(folder, name)
            shutil.rmtree(target, ignore_errors=True) if os.path.isdir(target) else os.remove(target)
            removed.append(target)
        dirs[:] = [d for d in dirs if not TEMP_NAME.match(d)]
    if removed:
        logger.info("Removed %d temporary file(s) a stopped run left in %s.", len(removed), path)
    return removed
