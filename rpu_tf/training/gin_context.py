"""The one ``*_with_gin`` sequence: parse gin, set thread pools, ready the run directory, clear."""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Optional, Sequence

import gin

from rpu_tf.layout.guard import readied_directory
from rpu_tf.layout.lock import run_lock
from rpu_tf.training import runtime
from rpu_tf.utils.gin_files import check_bindings_are_read, parse_gin


@contextlib.contextmanager
def gin_run(gin_config_files: Optional[Sequence[str]], gin_bindings: Optional[Sequence[str]],
            model_dir: Optional[str] = None, overwrite: bool = False, marker: Optional[str] = None,
            resumable: bool = False, pipeline: Optional[str] = None,
            models_per_step: Callable[[], int] = lambda: 1) -> Iterator[runtime.RuntimeOptions]:
    """Parses gin, applies the runtime options (thread pools and precision, before any op
    runs: gin builds models when the body calls the pipeline), locks ``model_dir`` for this
    process and readies it (:func:`rpu_tf.layout.run_lock`,
    :func:`rpu_tf.layout.guard.readied_directory`: an overwritten run comes back when the body
    fails; both skipped when ``marker`` is None), yields the
    runtime options and clears gin afterwards, also on errors. With ``pipeline``, bindings
    that pipeline never reads are refused first (:func:`check_bindings_are_read`).
    ``models_per_step`` (read after parsing) is how many models the pipeline's steps mostly
    train at once, what the thread pools are sized for (:func:`runtime.auto_threads`)."""
    if pipeline is not None:
        check_bindings_are_read(pipeline, list(gin_bindings or []))
    parse_gin(list(gin_config_files or []), list(gin_bindings or []))
    try:
        with runtime.defaults_kept(), contextlib.ExitStack() as stack:  # the run's choices do not outlive it
            options = runtime.runtime_options()
            runtime.configure(models_per_step(), options)
            if marker is not None:
                stack.enter_context(run_lock(model_dir))  # one writer (rpu_tf.layout.lock)
                stack.enter_context(readied_directory(model_dir, overwrite, marker, resumable=resumable))
            yield options
    finally:
        gin.clear_config()
