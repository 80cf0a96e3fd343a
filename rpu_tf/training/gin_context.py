"""A command's gin edge: parse gin once, set thread pools, ready the run directory, clear.

Two halves, so that a command parses its configs exactly once:

- :func:`parsed_gin` parses the files and bindings and clears gin afterwards (the command's
  edge: :func:`rpu_tf.pipelines.choice.run_pipeline` reads ``pipeline.name`` from the same
  parse that the pipeline then runs on);
- :func:`run_context` runs on the config gin holds: thread pools and precision, the run
  directory's lock and readiness.

A pipeline's ``*_with_gin`` is :func:`parsed_gin` around its ``*_from_gin`` body, which enters
:func:`run_context`.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Optional, Sequence

import gin

from rpu_tf.layout.guard import readied_directory
from rpu_tf.layout.lock import run_lock
from rpu_tf.training import runtime
from rpu_tf.utils.gin_files import check_bindings_are_read, parse_gin


@contextlib.contextmanager
def parsed_gin(gin_config_files: Optional[Sequence[str]], gin_bindings: Optional[Sequence[str]],
               pipeline: Optional[str] = None) -> Iterator[None]:
    """Parses the files, then the bindings (:func:`~rpu_tf.utils.gin_files.parse_gin`), for the
    body, and clears gin afterwards, also on errors. With ``pipeline``, bindings that pipeline
    never reads are refused first (:func:`check_bindings_are_read`)."""
    if pipeline is not None:
        check_bindings_are_read(pipeline, list(gin_bindings or []))
    try:
        parse_gin(list(gin_config_files or []), list(gin_bindings or []))
        yield
    finally:
        gin.clear_config()


@contextlib.contextmanager
def run_context(model_dir: Optional[str] = None, overwrite: bool = False, marker: Optional[str] = None,
                resumable: bool = False,
                models_per_step: Callable[[], int] = lambda: 1) -> Iterator[runtime.RuntimeOptions]:
    """On the config gin holds: applies the runtime options (thread pools and precision, before
    any op runs: gin builds models when the body calls the pipeline), locks ``model_dir`` for
    this process and readies it (:func:`rpu_tf.layout.run_lock`,
    :func:`rpu_tf.layout.guard.readied_directory`: an overwritten run comes back when the body
    fails; both skipped when ``marker`` is None) and yields the runtime options. The process's
    runtime defaults are restored afterwards. ``models_per_step`` (read from the config) is how
    many models the pipeline's steps mostly train at once, what the thread pools are sized for
    (:func:`runtime.auto_threads`)."""
    with runtime.defaults_kept(), contextlib.ExitStack() as stack:  # the run's choices do not outlive it
        options = runtime.runtime_options()
        runtime.configure(models_per_step(), options)
        if marker is not None:
            stack.enter_context(run_lock(model_dir))  # one writer (rpu_tf.layout.lock)
            stack.enter_context(readied_directory(model_dir, overwrite, marker, resumable=resumable))
        yield options
