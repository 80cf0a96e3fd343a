"""Replace only on success: ``--overwrite`` and ``--redo_from`` never destroy the old result first.

- :class:`Replacement`: new output folders are written beside the old ones
  (``.NAME.<tag>.tmp``) and swapped in at the end (:meth:`Replacement.commit`), all of them
  or, when the attempt fails, none (:meth:`Replacement.abort`). A kill during the swap is
  finished by the next attempt on the same folder (:func:`recover`), or by
  :func:`rpu_tf.layout.lock.remove_stale_temporaries` inside a run.
- :func:`set_aside`: outputs a redo recomputes are moved into ``RUN/.redo_from.<tag>.tmp``;
  a failed redo moves them back, a successful one deletes them (a killed one leaves a
  temporary that the next command on the run removes, and goes on with the redo).
- :func:`overwritten`: ``--overwrite`` of a whole run, the same way: the old run moves into
  ``RUN/.overwrite.<tag>.tmp`` and comes back when the new attempt fails.

Every path is checked to lie inside its root (:func:`rpu_tf.layout.names.inside`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from typing import Iterator, Sequence

from rpu_tf.layout.names import inside

logger = logging.getLogger(__name__)


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def recover(path: str) -> None:
    """Finishes a swap of ``path`` that a kill interrupted (the old copy ``.NAME.<tag>.tmp.old``
    beside a complete new ``.NAME.<tag>.tmp``, ``path`` gone) and deletes every other leftover
    temporary of ``path`` (a stopped attempt's unfinished new copy)."""
    parent, name = os.path.split(os.path.abspath(path))
    if not os.path.isdir(parent):
        return
    pattern = re.compile(rf"^\.{re.escape(name)}\.(?P<tag>[a-z0-9_]{{8}})\.tmp(?P<old>\.old)?$")
    leftovers = sorted(n for n in os.listdir(parent) if pattern.match(n))
    for entry in leftovers:
        match = pattern.match(entry)
        if match["old"] and not os.path.lexists(path):
            new = os.path.join(parent, f".{name}.{match['tag']}.tmp")
            os.replace(new if os.path.isdir(new) else os.path.join(parent, entry), path)
            logger.info("Finished replacing %s, which a stopped command left half way.", path)
    for entry in leftovers:
        _remove(os.path.join(parent, entry))


class Replacement:
    """Output folders written beside the old ones and swapped in together at the end."""

    def __init__(self) -> None:
        self._staged: list[tuple[str, str]] = []

    def stage(self, path: str) -> str:
        """A new empty folder beside ``path`` to write its replacement into."""
        recover(path)
        parent, name = os.path.split(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        staged = tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=parent)
        self._staged.append((path, staged))
        return staged

    def commit(self) -> None:
        """Swaps every staged folder in for its target (the old one is deleted after)."""
        for path, staged in self._staged:
            if os.path.lexists(path):
                old = staged + ".old"
                os.replace(path, old)
                os.replace(staged, path)
                _remove(old)
            else:
                os.replace(staged, path)
        self._staged = []

    def abort(self) -> None:
        """Deletes every staged folder; the targets stay as they were."""
        for _, staged in self._staged:
            shutil.rmtree(staged, ignore_errors=True)
        self._staged = []


@contextlib.contextmanager
def replaced_on_success() -> Iterator[Replacement]:
    """A :class:`Replacement` committed when the body succeeds and aborted when it raises."""
    replacement = Replacement()
    try:
        yield replacement
    except BaseException:
        replacement.abort()
        raise
    replacement.commit()


SET_ASIDE_PREFIX = ".redo_from."


@contextlib.contextmanager
def set_aside(run_dir: str, targets: Sequence[str]) -> Iterator[list[str]]:
    """Moves the existing ``targets`` (inside ``run_dir``) into a backup folder in ``run_dir``
    and yields the moved ones. When the body raises an ``Exception``, what it wrote at the
    targets is deleted and the old ones are moved back; otherwise the backup is deleted."""
    for target in targets:
        inside(run_dir, target)
    backup = tempfile.mkdtemp(prefix=SET_ASIDE_PREFIX, suffix=".tmp", dir=run_dir)
    moved = []
    try:
        for number, target in enumerate(targets):
            if os.path.lexists(target):
                os.replace(target, os.path.join(backup, str(number)))
                moved.append(target)
        yield moved
    except Exception:
        for number, target in enumerate(targets):
            kept = os.path.join(backup, str(number))
            if os.path.lexists(kept):
                _remove(target)
                os.replace(kept, target)
            elif os.path.lexists(target):
                _remove(target)  # written by the failed attempt; there was none before
        shutil.rmtree(backup, ignore_errors=True)
        raise
    shutil.rmtree(backup, ignore_errors=True)


OVERWRITE_PREFIX = ".overwrite."


@contextlib.contextmanager
def overwritten(run_dir: str, keep: Sequence[str] = ()) -> Iterator[None]:
    """``--overwrite`` that replaces only on success: every entry of ``run_dir`` but ``keep``
    (the run lock) moves into a backup folder inside it and the body starts in an empty run.
    When the body raises an ``Exception``, everything it wrote is deleted and the old run moves
    back, byte for byte; otherwise the backup is deleted. A killed attempt leaves the backup,
    a temporary that the next command on the run deletes (it then resumes the new run), as a
    killed ``--redo_from`` does. The old run's disk space is held until the new one finishes."""
    backup = tempfile.mkdtemp(prefix=OVERWRITE_PREFIX, suffix=".tmp", dir=run_dir)
    kept = set(keep) | {os.path.basename(backup)}
    moved = sorted(entry for entry in os.listdir(run_dir) if entry not in kept)
    try:
        for entry in moved:
            os.replace(os.path.join(run_dir, entry), os.path.join(backup, entry))
        yield
    except Exception:
        for entry in os.listdir(run_dir):
            if entry not in kept:
                _remove(os.path.join(run_dir, entry))  # written by the failed attempt
        for entry in os.listdir(backup):
            os.replace(os.path.join(backup, entry), os.path.join(run_dir, entry))
        shutil.rmtree(backup, ignore_errors=True)
        logger.info("The old run in %s is back as it was (the --overwrite attempt failed).", run_dir)
        raise
    shutil.rmtree(backup, ignore_errors=True)
