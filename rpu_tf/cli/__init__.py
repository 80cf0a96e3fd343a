"""Command-line entry points (``rpu_train``, ``rpu_evaluate``, ...): absl flags, gin, one
pipeline each, one-line errors.

Importing this package sets ``TF_CPP_MIN_LOG_LEVEL=1`` (unless set) before any command loads
TensorFlow, so the installed commands, like ``bin/rpu_*``, do not print TensorFlow's C++ INFO
lines.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
