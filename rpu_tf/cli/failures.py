"""The one error path of every CLI: an expected failure is one logged line and exit code 1."""

from __future__ import annotations

import logging
from typing import Callable

from rpu_tf.utils.errors import EXPECTED_ERRORS, disk_failure, one_line
from rpu_tf.utils.gin_files import required_binding_message


def report_failures(run: Callable[[], int], logger: logging.Logger, explain: Callable[[str], str] = str) -> int:
    """``run()``'s exit code; for an expected failure (:data:`EXPECTED_ERRORS`) the error's
    :func:`one_line` message (``explain`` may add to it) is logged and 1 (130 for Ctrl-C) is
    returned. Unexpected exceptions propagate with their traceback."""
    try:
        return run()
    except EXPECTED_ERRORS as error:
        logger.error("%s", explain(one_line(error)))
        return 130 if isinstance(error, KeyboardInterrupt) else 1
    except Exception as error:  # noqa: BLE001 -- re-raised unless it is one of the two below
        # TensorFlow's own error for a full or read-only disk (TensorBoard, SavedModel), or gin's
        # missing required binding: one line naming it
        message = disk_failure(error) or (required_binding_message(error) if isinstance(error, RuntimeError) else None)
        if message is None:
            raise
        logger.error("%s", message)
        return 1
