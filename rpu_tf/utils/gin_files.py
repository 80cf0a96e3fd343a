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


def parse_gin(gin_config_files: Sequence[str] = (), gin_bindings: Sequence[str] = ()) -> None:
    """Parses gin files then bindings; each file's folder is added to gin's search path.

    So ``include "_shared_vae.gin"`` in ``gin_configs/pbt/x.gin`` finds its neighbour
    wherever the command runs.
    """
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
