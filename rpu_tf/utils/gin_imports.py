"""Gin files and bindings cannot import Python modules unless the user allows it.

Gin runs ``import x`` lines of a config file: a metric or training config from elsewhere (or
``x.py`` in the folder the command runs from) would run code. rpu_tf's commands parse gin
inside :func:`imports_refused`, which refuses every ``import`` / ``from ... import`` line
(``from __gin__ import ...`` features aside) with one line naming the file and the module.
Setting the environment variable :data:`ALLOW_IMPORTS_ENV` to ``1`` (``rpu_train`` and
``rpu_evaluate``: ``--allow_gin_imports``) allows them for configs you trust. See
``docs/security.md``.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

import gin

#: ``RPU_TF_ALLOW_GIN_IMPORTS=1``: gin files and bindings may import modules (trusted configs only).
ALLOW_IMPORTS_ENV = "RPU_TF_ALLOW_GIN_IMPORTS"


class GinImportRefusedError(ValueError):
    """A gin file or binding has an ``import`` line and imports are not allowed."""


def imports_allowed() -> bool:
    """Whether :data:`ALLOW_IMPORTS_ENV` allows gin ``import`` lines."""
    return os.environ.get(ALLOW_IMPORTS_ENV, "").strip().lower() in ("1", "true", "yes")


def allow_imports() -> None:
    """Allows gin ``import`` lines in this process and the commands it starts."""
    os.environ[ALLOW_IMPORTS_ENV] = "1"


@contextlib.contextmanager
def imports_refused() -> Iterator[None]:
    """Gin parsing inside the block refuses ``import`` lines unless :func:`imports_allowed`."""
    if imports_allowed():
        yield
        return
    context = gin.config.ParseContext
    original = context.process_import

    def refuse(self, statement) -> None:
        if statement.is_from and statement.module.startswith("__gin__."):
            return original(self, statement)  # gin's own features, no module is imported
        raise GinImportRefusedError(
            f"gin configs may not import Python modules: 'import {statement.module}' refused (it would run code "
            f"found on the import path, the working folder included). Remove the line, or, for a config you "
            f"trust, set {ALLOW_IMPORTS_ENV}=1 (rpu_train / rpu_evaluate: --allow_gin_imports).")

    context.process_import = refuse
    try:
        yield
    finally:
        context.process_import = original
