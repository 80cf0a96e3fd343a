"""Imports disentanglement_lib 1.5 (the metric oracle) on TF 2 / NumPy 2.

See ``shared/dlib_oracle.md``: gin 0.5's ``gin.tf`` cannot be imported without
``tf.estimator``, and dlib passes ``blacklist``/``whitelist`` to ``gin.configurable``, which
gin 0.5 calls ``denylist``/``allowlist``. :func:`import_dlib` patches both before the first
dlib import. Tests call ``dlib = import_dlib()``: where dlib is not installed the test
fails with the install command, unless ``RPU_SKIP_ORACLE=1`` is set (then it is skipped).

dlib registers gin names (``mig``, ``dci``, ``discretizer``, ...) that ours register too:
in tests pass parameters as arguments, or bind with dlib's full module path.
"""

from __future__ import annotations

import importlib
import os
import sys
import types

import pytest

_PATCHED = False


def _patch_gin() -> None:
    global _PATCHED
    if _PATCHED:
        return
    import gin
    import gin.config

    if "gin.tf" not in sys.modules:
        stub = types.ModuleType("gin.tf")
        stub.__doc__ = "Empty stand-in for gin.tf (dlib's metric modules only use gin.configurable)."
        sys.modules["gin.tf"] = stub
        gin.tf = stub

    original = gin.config.configurable

    def configurable(*args, **kwargs):
        if "blacklist" in kwargs:
            kwargs["denylist"] = kwargs.pop("blacklist")
        if "whitelist" in kwargs:
            kwargs["allowlist"] = kwargs.pop("whitelist")
        return original(*args, **kwargs)

    gin.config.configurable = configurable
    gin.configurable = configurable
    _PATCHED = True


def import_dlib(module: str = "disentanglement_lib"):
    """Imports ``module`` from disentanglement_lib after patching gin; skips if absent."""
    try:
        importlib.import_module("disentanglement_lib")
    except ImportError:
        hint = "pip install --no-deps disentanglement-lib==1.5"
        if os.environ.get("RPU_SKIP_ORACLE") == "1":
            pytest.skip(f"disentanglement_lib 1.5 not installed (RPU_SKIP_ORACLE=1): {hint}")
        pytest.fail(f"disentanglement_lib 1.5 (the test oracle) is not installed: {hint}; "
                    "or set RPU_SKIP_ORACLE=1 to skip the oracle tests.")
    _patch_gin()
    return importlib.import_module(module)
