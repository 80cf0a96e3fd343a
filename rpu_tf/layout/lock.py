"""One writer per run directory: an advisory lock held while a command writes it.

:func:`run_lock` takes an exclusive ``flock`` on ``RUN/.rpu_lock`` (created if missing) and
writes the holder's pid, host and start time into it. A second command on the same directory
fails at once with :class:`RunLockedError` naming the holder. The kernel releases the lock
when its process ends, however it ends (a kill included), so a lock file left behind by a
killed run never blocks the next one. The overwrite guard leaves the lock file in place
(:func:`rpu_tf.layout.guard.prepare_directory`). Without ``fcntl`` (not POSIX) there is no lock.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from typing import Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

LOCK_FILE = ".rpu_lock"


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
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
