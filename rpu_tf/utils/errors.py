"""Expected failures and their one-line messages (every CLI reports them the same way).

An *expected* failure is one the user can act on: bad settings or input files, a full or
read-only disk, a run that learned nothing. The CLIs print :func:`one_line` of it and exit
with 1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import tokenize
import zipfile


class RunFailedError(RuntimeError):
    """A run ended without a usable result for a reason the message names (every PBT member
    failed, the initial metaEpoch learned nothing to label, ...) and says what to change."""


#: What the CLIs report as one line (``FloatingPointError``: non-finite losses;
#: ``SyntaxError``: gin files and bindings; ``ImportError``: a missing optional dependency).
EXPECTED_ERRORS = (OSError, ValueError, TypeError, FloatingPointError, RunFailedError, SyntaxError,
                   zipfile.BadZipFile, tokenize.TokenError, ImportError, KeyboardInterrupt)


#: What TensorFlow's file system says when a disk is full or read-only (its errors are not
#: ``OSError``: TensorBoard's event writer, SavedModel export).
DISK_FAILURES = {"No space left on device": "no space left on device", "Read-only file system": "read-only file system"}


def disk_failure(error: BaseException) -> str | None:
    """One line for a TensorFlow write that failed on a full or read-only disk (the file, what
    happened, what to do), or None for any other error. Checked by name and message, so this
    module does not import TensorFlow."""
    if not type(error).__module__.startswith("tensorflow"):
        return None
    text = str(error)
    for needle, what in DISK_FAILURES.items():
        if needle in text:
            return _disk_advice(text.split(";")[0].strip() if ";" in text else "a file of the run", what)
    return None


#: The operating system's errors for a full or read-only disk (Python's own writers).
DISK_ERRNOS = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
               errno.EROFS: "read-only file system"}


def _disk_advice(path: str, what: str) -> str:
    return (f"{path}: {what}. Free some space (or make the folder writable), then run the same command "
            "again: the run resumes from its last checkpoint.")


def one_line(error: BaseException) -> str:
    """``error`` as one line naming what was wrong: the file and line of a gin syntax error,
    the file of an OS error, the message otherwise (newlines folded)."""
    disk = disk_failure(error)
    if disk is not None:
        return disk
    if isinstance(error, OSError) and error.errno in DISK_ERRNOS:
        return _disk_advice(str(error.filename or "a file of the run"), DISK_ERRNOS[error.errno])
    if isinstance(error, KeyboardInterrupt):
        return "Interrupted; run the same command again to resume."
    if isinstance(error, SyntaxError) and not isinstance(error, (IndentationError,)) and error.msg:
        where = f"{error.filename}:{error.lineno}" if error.filename else f"--gin_bindings (line {error.lineno})"
        text = f" in: {error.text.strip()}" if error.text and error.text.strip() else ""
        return f"Gin syntax error at {where}: {error.msg}{text}"
    message = str(error).strip() or type(error).__name__
    if isinstance(error, OSError) and error.filename and str(error.filename) not in message:
        message = f"{message} ({error.filename})"
    if isinstance(error, ImportError) and "No module named" in message:
        message += " (install the extra that provides it; see the README)"
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    # gin appends "In call to configurable 'x' (<function ...>)" per level: noise in one line
    kept = [line for line in lines if not line.startswith("In call to configurable ")]
    return " ".join(kept or lines)
