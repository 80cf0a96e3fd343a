"""``dataset.name = "auto"``: evaluate on the data set a model was trained on.

disentanglement_lib's postprocessing and evaluation steps replace ``"auto"`` by the
``dataset.name`` in the previous step's gin config (``train.gin`` for postprocessing,
``postprocess.gin`` for evaluation). Our data sets have their own gin settings (the
sprites grid, a data root, ...), so the data set's bindings of the previous step are
carried along too (:data:`DATA_CONFIGURABLES`); a binding the current config sets itself
wins. The operative config of each step then names the full data set, as
disentanglement_lib's does.
"""

from __future__ import annotations

import logging
import os

import gin

from rpu_tf import registry
from rpu_tf.layout.results import read_config_bindings
from rpu_tf.utils.gin_imports import imports_refused

logger = logging.getLogger(__name__)

#: Gin configurables that define a data set: ``dataset`` and each data set's own scope, as
#: the registry lists them for :mod:`rpu_tf.data`.
DATA_CONFIGURABLES = tuple(name for module, names in registry.GIN_CONFIGURABLES.items()
                           if module.startswith("rpu_tf.data.") for name in names)


def _configurable(key: str) -> str:
    """``"scope/sprites.num_scales"`` -> ``"sprites"``."""
    return key.rsplit(".", 1)[0].rsplit("/", 1)[-1]


def _is_bound(key: str) -> bool:
    try:
        gin.query_parameter(key)
    except ValueError:
        return False
    return True


def repair_hint(gin_path: str) -> str:
    """What to do about a damaged ``results/gin/{train,postprocess}.gin`` of a run."""
    if os.path.basename(gin_path) == "postprocess.gin":
        folder = os.path.dirname(os.path.dirname(os.path.dirname(gin_path)))
        return f"Remove {folder} (rpu_evaluate postprocesses the model again), or restore it from a copy."
    return ("Restore it from a copy of the run (an earlier rpu_evaluate's postprocessed/<representation>/results/"
            "gin/train.gin holds one), or train the model again: the same rpu_train command with --overwrite "
            "(an rPU-VAE run: --redo_from=final).")


def config_bindings(gin_path: str) -> dict[str, str]:
    """``{binding: value}`` of a step's operative config, checked against its checksum record
    (or, without a record, for truncation): a damaged file is one line naming it and
    the repair, never a data set silently rebuilt from what is left of it."""
    return read_config_bindings(gin_path, repair_hint(gin_path))


def dataset_bindings(gin_path: str) -> dict[str, str]:
    """The data set's bindings (``dataset.name`` and its settings) in a step's gin file
    (checked: :func:`config_bindings`)."""
    return {key: value for key, value in config_bindings(gin_path).items()
            if _configurable(key) in DATA_CONFIGURABLES}


def resolve_auto_dataset(previous_gin: str) -> bool:
    """Binds the previous step's data set if ``dataset.name`` is ``"auto"``.

    Args:
      previous_gin: the previous step's operative config (``results/gin/train.gin`` or
        ``results/gin/postprocess.gin``).

    Returns:
      Whether ``"auto"`` was resolved.

    Raises:
      FileNotFoundError, ValueError: the previous config is missing or names no data set;
        ``DamagedFileError`` (a ``ValueError``): it is truncated or differs from its checksum.
    """
    if not _is_bound("dataset.name") or gin.query_parameter("dataset.name") != "auto":
        return False
    if not os.path.isfile(previous_gin):
        raise FileNotFoundError(
            f'dataset.name = "auto" needs the previous step\'s gin config {previous_gin}, which '
            'does not exist; bind the data set explicitly (dataset.name = "...").')
    bindings = dataset_bindings(previous_gin)
    if "dataset.name" not in bindings:
        raise ValueError(
            f'dataset.name = "auto", but {previous_gin} binds no dataset.name; bind the data '
            'set explicitly (dataset.name = "...").')
    registry.register_gin_configurables(DATA_CONFIGURABLES)
    with gin.unlock_config(), imports_refused():  # values read from a run file
        for key, value in bindings.items():
            if key == "dataset.name" or not _is_bound(key):
                gin.parse_config(f"{key} = {value}")
    logger.info("dataset.name = 'auto' resolved to %s (from %s).", bindings["dataset.name"],
                previous_gin)
    return True
