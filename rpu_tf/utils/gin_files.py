"""Parsing gin configs (``include`` statements resolve relative to the including file);
``pipeline.name`` and the configurables only some pipelines read."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tokenize
from typing import Iterator, Optional, Sequence

import gin

from rpu_tf.utils.gin_imports import imports_refused

#: The ``pipeline.name`` values (:data:`rpu_tf.pipelines.choice.PIPELINES` runs them).
PIPELINE_NAMES = ("single_model", "pbt_vae", "rpu_vae")


@gin.configurable("pipeline")
def pipeline_name(name: str = "single_model") -> str:
    """The pipeline a gin config asks for (``pipeline.name``); registered here so every
    ``*_with_gin`` entry point, which parses through :func:`parse_gin`, accepts it."""
    if name not in PIPELINE_NAMES:
        raise ValueError(f"unknown pipeline.name {name!r}; known: {', '.join(PIPELINE_NAMES)}.")
    return name


#: Configurables that only some pipelines read (``pipeline.name`` values). A binding given
#: for one of them (``--gin_bindings``) under any other pipeline would silently do nothing, so
#: the pipelines refuse it (:func:`check_bindings_are_read`). Config files may carry
#: settings of several pipelines (the study reuses quickstart.gin for PBT).
_PBT = ("pbt_vae", "rpu_vae")
PIPELINE_ONLY: dict[str, tuple[str, ...]] = {
    **{name: _PBT for name in ("pbt", "pbt_vae", "pbt_stopping", "local_executor", "ray_executor", "udr_score",
                               "mig_score", "metric_score", "surrogate_mig_score", "vae_hyperparameters",
                               "batch_size_choices", "beta_choices", "learning_rate_choices")},
    **{name: ("rpu_vae",) for name in ("rpu_vae", "active_latents", "reduction")},
    **{name: ("single_model",) for name in ("model", "supervision")},
    **{name: () for name in ("study", "study_method")},  # rpu_study's, no pipeline's
}


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
    wherever the command runs, and so do the includes of an included file (``include
    "../quickstart.gin"`` in ``gin_configs/rpu_vae/x.gin``, whose own ``include
    "pbt/_shared_vae.gin"`` is next to it). A file that is not where the path says is looked
    up among the shipped configs (:func:`resolve_gin_config`). ``import`` lines are refused
    unless allowed (:mod:`rpu_tf.utils.gin_imports`).
    """
    gin_config_files = [resolve_gin_config(path) for path in gin_config_files]
    for path in gin_config_files:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"gin config {path} not found.")
        _search_next_to(path, set())
    # gin first probes each include as given and logs an error when it is not found there,
    # before it tries the search path; those probes are not errors here.
    previous = logging.root.manager.disable
    logging.disable(logging.ERROR)
    try:
        with imports_refused():  # no code from import lines (rpu_tf.utils.gin_imports)
            for path in gin_config_files:  # as gin.parse_config_files_and_bindings, naming what failed
                with _syntax_errors_name(path):
                    gin.parse_config_file(path)
            with _syntax_errors_name("--gin_bindings"):
                gin.parse_config(list(gin_bindings))
        gin.finalize()
    finally:
        logging.disable(previous)


_INCLUDE = re.compile(r"""^\s*include\s+(['"])(?P<path>.+?)\1""", re.MULTILINE)


def _search_next_to(path: str, seen: set) -> None:
    """Adds the folder of ``path`` and, recursively, of every file it includes to gin's
    search path (an include that is found nowhere is left for gin's own error)."""
    path = os.path.abspath(path)
    if path in seen:
        return
    seen.add(path)
    folder = os.path.dirname(path)
    if folder not in _search_paths:
        gin.add_config_file_search_path(folder)
        _search_paths.add(folder)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return  # gin's parse names the file
    for match in _INCLUDE.finditer(text):
        candidates = [os.path.join(folder, match["path"])] + [os.path.join(p, match["path"]) for p in _search_paths]
        found = next((c for c in candidates if os.path.isfile(c)), None)
        if found is not None:
            _search_next_to(found, seen)


_BINDING = re.compile(r"^\s*([A-Za-z_][\w./]*)\.(\w+)\s*=")


def bound_configurables(gin_bindings: Sequence[str]) -> list[tuple[str, str]]:
    """``(binding, configurable name)`` of each ``scope/name.param = value`` line of
    ``gin_bindings`` (macros, includes and continuation lines are skipped)."""
    found = []
    for text in gin_bindings:
        for line in str(text).splitlines():
            match = _BINDING.match(line)
            if match:
                selector = match.group(1).rsplit("/", 1)[-1]
                found.append((f"{match.group(1)}.{match.group(2)}", selector.rsplit(".", 1)[-1]))
    return found


def check_bindings_are_read(pipeline: str, gin_bindings: Sequence[str]) -> None:
    """Refuses bindings that ``pipeline`` never reads (their configurable belongs to other
    pipelines, :data:`PIPELINE_ONLY`): they would silently do nothing.

    Raises:
      ValueError: naming each such binding, the pipeline, and the pipelines that read it.
    """
    unread = [(binding, PIPELINE_ONLY[name]) for binding, name in bound_configurables(gin_bindings)
              if name in PIPELINE_ONLY and pipeline not in PIPELINE_ONLY[name]]
    if unread:
        said = "; ".join(f"{binding} (read by {' and '.join(users) if users else 'rpu_study only'})"
                         for binding, users in unread)
        raise ValueError(f"pipeline {pipeline!r} never reads {said}: the binding would do nothing. Remove it, "
                         f"or run the pipeline that reads it (pipeline.name = ...).")


def with_model_name(gin_bindings: Sequence[str]) -> list[str]:
    """``gin_bindings`` plus ``model.name = '<model>'`` when they swap the model
    (``model.model = @factor_vae()``) without naming it: the config file's ``model.name``
    (e.g. ``'beta_tc_vae'`` in a baseline config) would otherwise label the run, and
    rpu_compare's rows, with the model it no longer trains."""
    bindings = [str(b) for b in gin_bindings]
    names = [m.group(1) for b in bindings for m in re.finditer(r"^\s*model\.model\s*=\s*@(?:\w+/)*(\w+)\(",
                                                                 b, re.M)]
    if names and not any(re.search(r"^\s*model\.name\s*=", b, re.M) for b in bindings):
        bindings.append(f"model.name = '{names[-1]}'")
    return bindings


def required_binding_message(error: RuntimeError) -> Optional[str]:
    """One line for gin's "Required bindings for `name` not provided in config: ['p']", naming
    the bindings to add; None for any other error."""
    match = re.match(r"Required bindings for `([\w./]+)` not provided in config: \[(.*)\]", str(error))
    if not match:
        return None
    params = [p.strip().strip("'\"") for p in match.group(2).split(",") if p.strip()]
    name = match.group(1)
    needed = ", ".join(f"{name}.{p}" for p in params)
    example = " ".join(f"--gin_bindings='{name}.{p} = ...'" for p in params)
    return f"{name} needs {needed}, which no config or binding sets: add {example}."


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
