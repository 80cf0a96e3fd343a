"""The one precision a study trains in, chosen at its first invocation and kept.

A study spans sessions and may resume on another machine. ``training.precision = "auto"``
resolves per process, from the machine it runs on, so without a record the runs of one study
could train in float32 on one machine and in bfloat16 on the next: the comparison would no
longer be at equal arithmetic. ``study.precision`` (default ``"auto"``) is therefore resolved
once and written to ``STUDY_DIR/precision.json``; every training run whose gin files and
bindings leave ``training.precision`` at ``"auto"`` gets it as a binding
(``training.precision = "<precision>"``). A run that sets a precision itself (the paper configs:
float32) keeps it. A study directory without the record whose runs have trained (runs copied
into a new study directory, or a deleted record) takes the precision they trained in
(:func:`rpu_tf.layout.run_state.trained_precision`).
"""

from __future__ import annotations

import logging
import os
from typing import Optional, Sequence

from rpu_tf.layout.run_state import trained_precision
from rpu_tf.utils.files import atomic_write_json, read_json

logger = logging.getLogger(__name__)

PRECISION_FILE = "precision.json"


def precision_binding(precision: str) -> str:
    """The gin binding that makes a run train in ``precision``."""
    return f'training.precision = "{precision}"'


def leaves_precision_to_auto(configs: Sequence[str], bindings: Sequence[str]) -> bool:
    """Whether a run with these gin files and bindings trains at ``training.precision =
    "auto"`` (bound so, or not bound: the default). Settings that do not parse count as
    ``"auto"``: the run itself then fails and logs what is wrong with them."""
    import gin

    from rpu_tf import registry
    from rpu_tf.utils.gin_files import parse_gin

    registry.register_gin_configurables()
    try:
        parse_gin(list(configs), list(bindings))
    except Exception:  # noqa: BLE001 -- any failure is the run's to report, in its own log
        gin.clear_config()
        return True
    try:
        return gin.query_parameter("training.precision") == "auto"
    except ValueError:  # not bound
        return True
    finally:
        gin.clear_config()


def study_precision(setting: str, study_dir: str, run_dirs: Sequence[str]) -> str:
    """The concrete precision of the study in ``study_dir`` for ``study.precision = setting``.

    The first invocation resolves ``setting`` (``"auto"``: from this machine) and records it;
    later ones return the record. A study without a record whose runs (``run_dirs``) have
    trained already takes the precision they trained in. Raises
    ``ValueError`` when ``setting`` names a precision other than the recorded (or trained) one,
    or when the runs of an unrecorded study trained in different ones."""
    from rpu_tf.training.precision import CHOICES, describe_precision, resolve_precision

    if setting not in CHOICES:
        raise ValueError(f"Unknown study.precision {setting!r}; known: {', '.join(CHOICES)}.")
    path = os.path.join(study_dir, PRECISION_FILE)
    recorded: Optional[str] = read_json(path).get("precision") if os.path.exists(path) else None
    source = f"recorded in {path}"
    new = recorded is None
    if new:
        trained = {run_dir: p for run_dir in run_dirs if (p := trained_precision(run_dir))}
        if len(set(trained.values())) > 1:
            raise ValueError(f"{study_dir}: its runs trained in different precisions "
                             f"({', '.join(f'{k}: {v}' for k, v in sorted(trained.items()))}); the study cannot "
                             "be compared at one precision. Retrain the runs of one precision in a new study.")
        if trained:
            recorded, source = next(iter(trained.values())), "the precision its runs trained in so far"
        else:
            recorded, source = resolve_precision(setting), f"study.precision = {describe_precision(setting)}"
    if setting != "auto" and resolve_precision(setting) != recorded:
        raise ValueError(f"{study_dir} trains in {recorded} ({source}); study.precision = {setting!r} would mix "
                         f"precisions. Use study.precision = \"{recorded}\" (or \"auto\"), or start a new study "
                         "directory.")
    if new:
        atomic_write_json(path, {"precision": recorded, "chosen": source})
        source += f"; recorded in {path}"
    logger.info("Study: every run that leaves training.precision at \"auto\" trains in %s (%s).", recorded, source)
    return recorded


__all__ = ["PRECISION_FILE", "leaves_precision_to_auto", "precision_binding", "study_precision"]
