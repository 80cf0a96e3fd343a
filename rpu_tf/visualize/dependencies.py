"""Lazy imports of the plotting libraries (the optional ``viz`` extra).

matplotlib and pillow are not core dependencies; figures and images import them on first
use and, if they are missing, fail with the install command.
"""

from __future__ import annotations

import importlib
from types import ModuleType

INSTALL_HINT = "pip install 'rpu_tf[viz]'"


class MissingDependencyError(ImportError):
    """matplotlib or pillow is not installed."""


def _require(module: str, package: str, purpose: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDependencyError(
            f"{purpose} needs {package}, which is not installed ({error}). Install the "
            f"plotting extra: {INSTALL_HINT}") from None


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` with the non-interactive Agg backend (files only, no display)."""
    matplotlib = _require("matplotlib", "matplotlib", "Plotting")
    matplotlib.use("Agg", force=True)
    return _require("matplotlib.pyplot", "matplotlib", "Plotting")


def pil_image() -> ModuleType:
    """``PIL.Image``."""
    return _require("PIL.Image", "pillow", "Writing PNG/GIF images")
