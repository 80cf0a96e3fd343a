"""Parsing gin configs: ``include`` statements resolve relative to the including file."""

from __future__ import annotations

import contextlib
import logging
import os
import tokenize
from typing import Iterator, Sequence

import gin

from rpu_tf.registry import PIPELINES


@gin.configurable("pipeline")
def pipeline_name(name: str = "single_model") -> str:
    """The pipeline a gin config asks for (``pipeline.name``); registered here so every
    ``*_with_gin`` entry point, which parses through :func:`parse_gin`, accepts it."""
    if name not in PIPELINES:
        raise ValueError(f"unknown pipeline.name {name!r}; known: {', '.join(PIPELINES)}.")
    return name


CONFIG_FOLDER = "gin_configs"


def shipped_config_dir() -> str:
    """The folder of the gin configs that come with rpu_tf: ``rpu_tf/gin_configs`` in an
    installed wheel (setup.py ships the top-level ``gin_configs/`` there), the checkout's
    ``gin_configs/`` in a source or editable install."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    installed = os.path.join(package, CONFIG_FOLDER)
    checkout = os.path.join(os.path.dirname(package), CONFIG_FOLDER)
    return installed if os.path.isdir(installed) or not os.path.isdir(checkout) else checkout


def resolve_gin_config(path: str) -> str:
    """``path`` if it names a file; else the shipped config it names, so that
    ``quickstart.gin``, ``metrics/mig.gin`` or ``gin_configs/quickstart.gin`` work from any
    folder; else ``path`` unchanged (the caller's not-found error names it)."""
    if os.path.isfile(path) or os.path.isabs(path):
        return path
    parts = os.path.normpath(path).split(os.sep)
    if parts[0] == CONFIG_FOLDER:
        parts = parts[1:]
    shipped = os.path.join(shipped_config_dir(), *parts) if parts else ""
    return shipped if shipped and os.path.isfile(shipped) else path


def parse_gin(gin_config_files: Sequence[str] = (), gin_bindings: Sequence[str] = ()) -> None:
    """Parses gin files then bindings; each file's folder is added to gin's search path.

    So ``include "_shared_vae.gin"`` in ``gin_configs/pbt/x.gin`` finds its neighbour
    wherever the command runs. A file that is not where the path says is looked up among the
    shipped configs (:func:`resolve_gin_config`).
    """
    gin_config_files = [resolve_gin_config(path) for path in gin_config_files]
    for path in gin_config_files:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"gin config {path} not found.")
        folder = os.path.dirname(os.path.abspath(path))
        if folder not in _search_paths:
            gin.add_config_file_search_path(folder)
            _search_paths.add(folder)
    # gin first probes each include as given and logs an error when it is not found there,
    # before it tries the search path; those probes are not errors here.
    previous = logging.root.manager.disable
    logging.disable(logging.ERROR)
    try:
        for path in gin_config_files:  # as gin.parse_config_files_and_bindings, naming what failed
            with _syntax_errors_name(path):
                gin.parse_config_file(path)
        with _syntax_errors_name("--gin_bindings"):
            gin.parse_config(list(gin_bindings))
        gin.finalize()
    finally:
        logging.disable(previous)


@contextlib.contextmanager
def _syntax_errors_name(source: str) -> Iterator[None]:
    """Re-raises gin's syntax errors (``SyntaxError``; ``tokenize.TokenError`` for an unclosed
    bracket, which names nothing) as ``SyntaxError`` naming ``source`` (a file or the bindings)
    where the error itself does not."""
    try:
        yield
    except tokenize.TokenError as error:
        message, (line, _) = error.args if len(error.args) == 2 else (str(error), (None, None))
        raise SyntaxError(f"{message} (an unclosed bracket or quote?)",
                          (None if source.startswith("--") else source, line, 0, "")) from None
    except SyntaxError as error:
        if not error.filename and not source.startswith("--"):
            raise SyntaxError(error.msg, (source, error.lineno, error.offset or 0, error.text or "")) from None
        raise


_search_paths: set = set()
