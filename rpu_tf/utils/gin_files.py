"""Parsing gin configs: ``include`` statements resolve relative to the including file."""

from __future__ import annotations

import logging
import os
from typing import Sequence

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
        gin.parse_config_files_and_bindings(list(gin_config_files), list(gin_bindings))
    finally:
        logging.disable(previous)


_search_paths: set = set()
