"""One writer per run directory: an advisory lock held while a command writes it.

:func:`run_lock` takes an exclusive ``flock`` on ``RUN/.rpu_lock`` (created if missing) and
writes the holder's pid, host and start time into it. A second command on the same directory
fails at once with :class:`RunLockedError` naming the holder. The kernel releases the lock
when its process ends, however it ends (a kill included), so a lock file left behind by a
killed run never blocks the next one. The overwrite guard leaves the lock file in place and,
when a command resumes a run it holds, finishes or undoes the atomic writes a killed writer
left (:func:`remove_stale_temporaries`; :func:`rpu_tf.layout.guard.prepare_directory`).
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

#: Temporaries of rpu_tf's atomic writes (``rpu_tf.utils.files``, ``export_keras``): a file or
#: folder ``.NAME.<8 random>.tmp``, the replaced folder ``.NAME.<8 random>.tmp.old``, and
#: ``.NAME.keras.tmp.keras``.
_TMP = re.compile(r"^\.(?P<name>.+)\.(?P<tag>[a-z0-9_]{8})\.tmp$")
_OLD = re.compile(r"^\.(?P<name>.+)\.(?P<tag>[a-z0-9_]{8})\.tmp\.old$")
_KERAS = re.compile(r"^\..+\.keras\.tmp\.keras$")
#: Folders of other commands (rpu_evaluate, rpu_visualize write there without the lock).
NOT_CLEANED = ("metrics", "postprocessed")


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


def remove_stale_temporaries(path: str) -> list[str]:
    """Finishes or undoes the atomic writes that killed writers left under the run directory
    ``path`` (call it only while holding its lock, on a folder known to be a run): a folder
    replaced half way (its old copy ``.tmp.old`` beside a complete ``.tmp``, the target
    gone) gets the new copy, or the old one if only that is left; every other temporary is
    deleted. Evaluation folders (:data:`NOT_CLEANED`) are left alone. Returns what it changed."""
    changed = []
    for folder, dirs, files in os.walk(path):
        if folder == path:
            dirs[:] = [d for d in dirs if d not in NOT_CLEANED]
        for name in sorted(dirs + files):
            old = _OLD.match(name)
            if old is None:
                continue
            target = os.path.join(folder, old["name"])
            new = os.path.join(folder, f".{old['name']}.{old['tag']}.tmp")
            if not os.path.exists(target):
                os.replace(new if os.path.isdir(new) else os.path.join(folder, name), target)
                changed.append(target)
        for name in sorted(dirs + files):
            full = os.path.join(folder, name)
            if os.path.lexists(full) and (_TMP.match(name) or _OLD.match(name) or _KERAS.match(name)):
                shutil.rmtree(full, ignore_errors=True) if os.path.isdir(full) else os.remove(full)
                changed.append(full)
        dirs[:] = [d for d in dirs if os.path.isdir(os.path.join(folder, d))
                   and not (_TMP.match(d) or _OLD.match(d))]
    if changed:
        logger.info("Cleaned up after a stopped run in %s: %s.", path, ", ".join(sorted(set(changed))))
    return changed
