"""TensorFlow's C++ start-up lines, filtered once, before TensorFlow loads.

Importing TensorFlow 2.21 on a machine without a GPU writes, from C++ straight to file
descriptor 2 (so neither ``logging`` nor ``TF_CPP_MIN_LOG_LEVEL=1`` can hold them back)::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 ... cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.

twice (two of its shared libraries carry their own copy of absl), and its first device query
adds ``E0000 ... cuda_platform.cc:52] failed call to cuInit: ...``. The commands call
:func:`import_tensorflow_quietly` before their first use of TensorFlow: it imports TensorFlow
and lists its devices with descriptor 2 sent to a temporary file, then writes back every line
that is not one of the known start-up notices (:data:`START_UP_NOTICES`) and logs the dropped
ones at DEBUG level (logger ``rpu_tf.tf_startup``). ``RPU_TF_STARTUP_LOG=all`` shows them as
TensorFlow writes them.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from typing import Iterable

logger = logging.getLogger("rpu_tf.tf_startup")

#: Substrings of TensorFlow's C++ start-up lines that say nothing a user acts on when the
#: machine has no GPU (or TensorFlow was built without some CPU instructions).
START_UP_NOTICES = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "cudart_stub.cc",
    "failed call to cuInit",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation_placer.cc",
    "TF-TRT Warning: Could not find TensorRT",
    "cpu_feature_guard.cc",
    "rebuild TensorFlow with the appropriate compiler flags",
    "oneDNN custom operations are on",
)

#: Environment variable: ``all`` keeps TensorFlow's start-up lines as they are.
SHOW_ALL_VARIABLE = "RPU_TF_STARTUP_LOG"


def split_start_up_lines(text: str, notices: Iterable[str] = START_UP_NOTICES) -> tuple[list[str], list[str]]:
    """``(kept, dropped)`` lines of ``text`` (without line ends): a line is dropped when it
    contains one of ``notices``."""
    notices = tuple(notices)
    kept, dropped = [], []
    for line in text.splitlines():
        (dropped if any(n in line for n in notices) else kept).append(line)
    return kept, dropped


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow and queries its devices with TensorFlow's start-up notices filtered
    out of standard error; does nothing when TensorFlow is loaded already. Other lines,
    warnings and errors of that start-up included, are written to standard error unchanged."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # C++ INFO lines that honour it
    if os.environ.get(SHOW_ALL_VARIABLE, "").lower() == "all":
        import tensorflow as tf

        tf.config.list_physical_devices()
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no descriptor 2 (some embedded interpreters)
        import tensorflow  # noqa: F401

        return
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept, dropped = split_start_up_lines(captured.read().decode("utf-8", "replace"))
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()
            for line in dropped:
                logger.debug("TensorFlow start-up: %s", line)
