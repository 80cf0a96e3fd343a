"""The one overwrite guard: what happens to an existing output folder before a step writes it."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from typing import Iterator

from rpu_tf.layout.lock import LOCK_FILE, remove_stale_temporaries
from rpu_tf.layout.replace import overwritten

logger = logging.getLogger(__name__)


def prepare_directory(path: str, overwrite: bool, marker: str, resumable: bool = False,
                      what: str = "--model_dir", flag: str = "--overwrite") -> None:
    """Readies ``path`` for a step whose outputs contain ``marker`` (a sub-path).

    A missing or empty folder is fine. A folder without ``marker`` is never deleted (a
    mistyped path cannot wipe unrelated files). With ``overwrite`` a folder with ``marker``
    is deleted (all but the run lock); without it, a ``resumable`` step continues in it,
    after finishing or undoing the atomic writes a killed writer left there
    (:func:`rpu_tf.layout.lock.remove_stale_temporaries`), and any other step refuses it.

    Raises:
      FileExistsError: saying what to do instead.
    """
    action = check_directory(path, overwrite, marker, resumable, what, flag)
    if action == "resume":
        logger.info("Resuming the run in %s (pass %s to start afresh).", path, flag)
        remove_stale_temporaries(path)  # a run of this step, locked by this command
    elif action == "overwrite":
        logger.warning("Overwriting %s.", path)
        for entry in os.listdir(path):  # all but the run lock (held by this command, see layout.lock)
            if entry != LOCK_FILE:
                target = os.path.join(path, entry)
                shutil.rmtree(target) if os.path.isdir(target) and not os.path.islink(target) else os.remove(target)


@contextlib.contextmanager
def readied_directory(path: str, overwrite: bool, marker: str, resumable: bool = False,
                      what: str = "--model_dir", flag: str = "--overwrite") -> Iterator[str]:
    """:func:`prepare_directory` for a step that runs inside the ``with`` block, whose overwrite
    replaces only on success (:func:`rpu_tf.layout.replace.overwritten`): the old run is set
    aside, not deleted, and comes back when the block raises. Yields the action taken
    (``"fresh"``, ``"resume"`` or ``"overwrite"``)."""
    action = check_directory(path, overwrite, marker, resumable, what, flag)
    if action != "overwrite":
        prepare_directory(path, overwrite, marker, resumable, what, flag)
        yield action
        return
    logger.warning("Overwriting %s (its old contents are kept aside until the new run succeeds).", path)
    with overwritten(path, keep=(LOCK_FILE,)):
        yield action


def check_directory(path: str, overwrite: bool, marker: str, resumable: bool = False,
                    what: str = "--model_dir", flag: str = "--overwrite") -> str:
    """What :func:`prepare_directory` would do with ``path``, without doing it: ``"fresh"``,
    ``"resume"`` or ``"overwrite"``; raises its ``FileExistsError`` where it would refuse."""
    if not os.path.exists(path):
        return "fresh"
    if not os.path.isdir(path):
        raise FileExistsError(f"{what} {path} exists and is not a directory.")
    if not [entry for entry in os.listdir(path) if entry != LOCK_FILE]:
        return "fresh"
    has_marker = os.path.exists(os.path.join(path, marker))
    if resumable and not has_marker:
        raise FileExistsError(f"{path} is not empty and holds no {marker}/ run to resume; choose another "
                              f"{what} (or delete it yourself).")
    if not overwrite:
        if resumable:
            return "resume"
        raise FileExistsError(f"{what} {path} already exists; choose another directory or pass {flag} to "
                              "replace it.")
    if not has_marker:
        raise FileExistsError(f"Refusing to overwrite {path}: it is not empty and has no {marker}, so it does "
                              "not look like an output of this step. Delete it yourself if you mean it.")
    return "overwrite"
