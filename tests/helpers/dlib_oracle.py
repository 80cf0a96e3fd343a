"""Imports disentanglement_lib 1.5 (the metric oracle) on TF 2 / NumPy 2 through the
library's own bridge, :mod:`rpu_tf.compat.dlib` (its shims: ``gin.tf``, gin 0.5's keyword
names, pillow's ``ANTIALIAS``). Tests call ``dlib = import_dlib()``: where dlib is not installed the test
fails with the install command, unless ``RPU_SKIP_ORACLE=1`` is set (then it is skipped).

dlib registers gin names (``mig``, ``dci``, ``discretizer``, ...) that ours register too:
in tests pass parameters as arguments, or bind with dlib's full module path.
"""

from __future__ import annotations

import os

import pytest

from rpu_tf.compat import dlib as bridge


def import_dlib(module: str = "disentanglement_lib"):
    """Imports ``module`` from disentanglement_lib through :mod:`rpu_tf.compat.dlib`, its gin
    names left registered beside ours (the tests bind them by full module path); fails with
    the install command where dlib is absent, or skips with ``RPU_SKIP_ORACLE=1``."""
    try:
        return bridge.import_dlib(module, hide_from_gin=False)
    except ImportError as error:
        if "not installed" not in str(error):
            raise
        if os.environ.get("RPU_SKIP_ORACLE") == "1":
            pytest.skip(f"disentanglement_lib 1.5 not installed (RPU_SKIP_ORACLE=1): {bridge.INSTALL_HINT}")
        pytest.fail(f"disentanglement_lib 1.5 (the test oracle) is not installed: {bridge.INSTALL_HINT}; "
                    "or set RPU_SKIP_ORACLE=1 to skip the oracle tests.")
