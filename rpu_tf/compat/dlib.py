"""disentanglement_lib 1.5 in the same process as rpu_tf, on TF 2 / NumPy 2.

disentanglement_lib (``pip install --no-deps disentanglement-lib==1.5``: its metadata pins
TF 1.14) is the reference implementation of the metrics and data sets rpu_tf reproduces.
Three things keep its code from running beside ours, and this module handles each:

1. ``import gin.tf`` fails: gin 0.5's TF utilities subclass ``tf.estimator.SessionRunHook``
   and TF >= 2.16 has no ``tf.estimator``. Its metric and data modules only use
   ``gin.configurable``, so an empty ``gin.tf`` module is registered (:func:`import_dlib`).
2. It calls ``gin.configurable(..., blacklist=..., whitelist=...)``, which gin 0.5 names
   ``denylist`` / ``allowlist``: the two keywords are translated.
3. Both libraries register the same gin names (``mig``, ``dci``, ``discretizer``,
   ``histogram_discretizer``, ``dataset``, ...), so with both imported a binding such as
   ``discretizer.discretizer_fn = @histogram_discretizer`` is "ambiguous" in either's gin
   files. So gin sees one library at a time: modules imported through :func:`import_dlib`
   register their configurables out of gin's sight, and inside :func:`dlib_gin` gin sees
   only disentanglement_lib's (rpu_tf's hidden) and starts from an empty config, so its own gin
   files parse and bind unchanged. On leaving, rpu_tf's configurables and config are back as
   they were and disentanglement_lib's are out of sight again.

Pillow >= 10 removed ``Image.ANTIALIAS`` (the filter its image loaders resize with); it is
aliased to ``Image.LANCZOS``, the same filter, when pillow is installed.

Example (its ``compute_mig`` with its own config on our data and model)::

    from rpu_tf.compat.dlib import dlib_metric
    result = dlib_metric(".../unsupervised_study_v1/metric_configs/mig.gin", data, representation_fn,
                         np.random.RandomState(0))
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from typing import Any, Callable, Iterator, Sequence

import gin
import gin.config

INSTALL_HINT = "pip install --no-deps disentanglement-lib==1.5"
OUR_PREFIX = "rpu_tf."
DLIB_PREFIX = "disentanglement_lib."
_PATCHED = False
_INSIDE = False  # within dlib_gin()
_HIDDEN: dict = {}  # disentanglement_lib's gin configurables while out of gin's sight


def _hide(prefix: str) -> dict:
    """Takes the configurables whose module starts with ``prefix`` out of gin's registry."""
    registry = gin.config._REGISTRY
    taken = {selector: value for selector, value in registry.items() if selector.startswith(prefix)}
    for selector in taken:
        registry.pop(selector)
    return taken


def _show(configurables: dict) -> None:
    registry = gin.config._REGISTRY
    for selector, value in configurables.items():
        registry[selector] = value


def _patch() -> None:
    """The shims of the module docstring, once per process."""
    global _PATCHED
    if _PATCHED:
        return
    if "gin.tf" not in sys.modules:
        stub = types.ModuleType("gin.tf")
        stub.__doc__ = "Empty stand-in for gin.tf (rpu_tf.compat.dlib: disentanglement_lib only uses gin.configurable)."
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
    try:
        from PIL import Image
    except ImportError:  # only its image loaders need pillow
        pass
    else:
        if not hasattr(Image, "ANTIALIAS"):
            Image.ANTIALIAS = Image.LANCZOS
    _PATCHED = True


def import_dlib(module: str = "disentanglement_lib", hide_from_gin: bool = True) -> types.ModuleType:
    """Imports a disentanglement_lib module (e.g.
    ``"disentanglement_lib.evaluation.metrics.mig"``) after the shims.

    ``hide_from_gin``: its gin configurables stay out of gin's sight outside :func:`dlib_gin`,
    so rpu_tf's gin files never find its names ambiguous. ``False`` leaves them registered
    beside ours (bind them by full module path then, as rpu_tf's parity tests do).

    Raises:
      ImportError: disentanglement_lib is not installed, with the command that installs it.
    """
    try:
        importlib.import_module("disentanglement_lib")
    except ImportError as error:
        raise ImportError(f"disentanglement_lib 1.5 is not installed ({error}); install it with "
                          f"`{INSTALL_HINT}` (its metadata pins TF 1.14, hence --no-deps).") from None
    _patch()
    imported = importlib.import_module(module)
    if hide_from_gin and not _INSIDE:
        _HIDDEN.update(_hide(DLIB_PREFIX))
    return imported


@contextlib.contextmanager
def dlib_gin() -> Iterator[None]:
    """Inside: gin knows disentanglement_lib's configurables and not rpu_tf's, and its config is
    empty, so disentanglement_lib's gin files and bindings work unchanged. On exit: rpu_tf's
    configurables and the config from before are back, disentanglement_lib's (those of modules
    imported inside included) out of sight again; what was bound inside is gone. Not
    thread-safe (gin's registry is global)."""
    global _INSIDE
    if _INSIDE:
        raise RuntimeError("dlib_gin() is already active; do not nest it.")
    _patch()
    saved_config = dict(gin.config._CONFIG)
    gin.clear_config()
    ours = _hide(OUR_PREFIX)
    _show(_HIDDEN)
    _HIDDEN.clear()
    _INSIDE = True
    try:
        yield
    finally:
        _INSIDE = False
        gin.clear_config()
        _HIDDEN.update(_hide(DLIB_PREFIX))
        _show(ours)
        gin.config._CONFIG.update(saved_config)


def _evaluation_fn_name(config_file: str) -> str:
    """The configurable a metric config's ``evaluation.evaluation_fn = @name`` names."""
    from gin import config_parser

    class _Names(config_parser.ParserDelegate):
        def configurable_reference(self, scoped_name, evaluate):
            return scoped_name

        def macro(self, name):
            return name

    with open(config_file, encoding="utf-8") as f:
        statements = list(config_parser.ConfigParser(f.read(), _Names()))
    names = [st.value for st in statements if isinstance(st, config_parser.BindingStatement)
             and st.selector == "evaluation" and st.arg_name == "evaluation_fn"]
    if not names:
        raise ValueError(f"{config_file}: no `evaluation.evaluation_fn = @<metric>` binding; is it a "
                         "disentanglement_lib metric config?")
    return names[-1]


def dlib_metric(config_file: str, ground_truth_data: Any, representation_function: Callable,
                random_state: Any, bindings: Sequence[str] = ()) -> dict:
    """Runs the metric a disentanglement_lib metric config names (``evaluation.evaluation_fn``)
    with that config's settings and ``bindings``, on any ground-truth data and representation
    function (rpu_tf's data sets and models included); returns its results dict.

    Its ``evaluation`` and ``dataset`` bindings are skipped (they belong to its TF 1 evaluation
    pipeline, which needs TF 1's ``tensorflow_hub`` modules); the metric's own settings apply.
    """
    import_dlib("disentanglement_lib.evaluation.metrics.utils")
    for name in ("beta_vae", "dci", "downstream_task", "factor_vae", "irs", "mig", "modularity_explicitness",
                 "sap_score", "unsupervised_metrics"):
        import_dlib(f"disentanglement_lib.evaluation.metrics.{name}")
    name = _evaluation_fn_name(config_file)
    with dlib_gin():
        gin.parse_config_files_and_bindings([config_file], list(bindings), skip_unknown=True)
        configurable = gin.config._REGISTRY.get_match(name)
        if configurable is None:
            raise ValueError(f"{config_file}: disentanglement_lib has no metric @{name}.")
        return configurable.wrapper(ground_truth_data, representation_function, random_state)
