"""The files of an rPU-VAE run: ``manifest.json``, ``stages/<stage>/labels.npz``, ``summary.json``.

``manifest.json``::

    {"stages": {name: StageRecord}, "leaf_runs": [[{"labelled_images", "labels"}, ...], ...],
     "final": {best_score, generations, stop_reason, best_hyperparameters, leaf_run_scores,
               ground_truth?} or null,
     "settings": {binding: value}, "precision": "float32" | "mixed_bfloat16" | "mixed_float16"}

``labels.npz`` of a stage (arrays; latent indices 0-based; ``labels.npz.sha256`` beside it is its
checksum record, :mod:`rpu_tf.utils.checksums`)::

    root_indices        (n,)   the stage's data set as positions in the root data set
    labels              (n, a) surrogate labels: codes of the active latents ((0, 0): none)
    kl                  (D,)   mean KL to the prior per latent
    active              (a,)   the active latents
    kept, kept_root_indices    the reduction's kept positions (in the stage's data set / the root)
    reduction/<j>/{peaks, threshold, gap_window, chosen_rank, chosen_interval}   per active latent
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from rpu_tf.layout import paths
from rpu_tf.layout.names import check_stage_name, inside
from rpu_tf.utils.files import atomic_write_bytes, atomic_write_json, read_json
from rpu_tf.utils.state_files import load_state, save_state


@dataclasses.dataclass
class StageRecord:
    """What one metaEpoch learned (an entry of the manifest's ``stages``)."""

    name: str
    leaf_run: Optional[int]
    meta_epoch: int
    dataset_size: int
    best_score: float
    generations: int
    stop_reason: str
    active_latents: list
    kl: list
    kept_size: Optional[int]
    end_reason: Optional[str]

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class StageLabels:
    """The arrays of a stage's ``labels.npz``; ``labels`` and ``kept`` are None when empty."""

    root_indices: np.ndarray
    labels: Optional[np.ndarray]
    kl: np.ndarray
    active: np.ndarray
    kept: Optional[np.ndarray]
    reduction: dict = dataclasses.field(default_factory=dict)


def empty_manifest() -> dict:
    return {"stages": {}, "leaf_runs": [], "final": None}


def read_manifest(run_dir: str) -> dict:
    """The run's manifest, or an empty one for a new run; checked (:func:`check_manifest`)."""
    path = os.path.join(run_dir, paths.MANIFEST_FILE)
    if not os.path.exists(path):
        return empty_manifest()
    try:
        manifest = read_json(path)
    except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
        raise ValueError(f"{path} is not valid JSON ({error}); the file is damaged: restore it from a copy, or "
                         "start the run afresh with --overwrite.") from None
    return check_manifest(manifest, path)


def check_manifest(manifest: Any, path: str) -> dict:
    """``manifest`` (read from ``path``) if it has the schema above and every stage name is
    one the layout writes (:func:`rpu_tf.layout.names.check_stage_name`): a name read from a
    run file never becomes a path unchecked. Raises ``ValueError`` naming ``path``."""
    def damaged(what: str) -> ValueError:
        return ValueError(f"{path}: {what}; the file is damaged or was altered: restore it from a copy, or start "
                          "the run afresh with --overwrite.")

    if not isinstance(manifest, dict) or not isinstance(manifest.get("stages", {}), dict):
        raise damaged("expected an object with a 'stages' object")
    for name, record in manifest.setdefault("stages", {}).items():
        check_stage_name(name, path)
        if not isinstance(record, dict) or record.get("name", name) != name:
            raise damaged(f"the record of stage {name!r} is not an object named {name!r}")
    if not isinstance(manifest.setdefault("leaf_runs", []), list):
        raise damaged("'leaf_runs' is not a list")
    if not isinstance(manifest.setdefault("final", None), (dict, type(None))):
        raise damaged("'final' is neither an object nor null")
    return manifest


def write_manifest(run_dir: str, manifest: Mapping[str, Any]) -> None:
    atomic_write_json(os.path.join(run_dir, paths.MANIFEST_FILE), manifest)


def manifest_bytes(run_dir: str) -> Optional[bytes]:
    """The manifest file as it is on disk (None: none), to put back byte for byte
    (:func:`restore_manifest_bytes`) when a redo fails."""
    path = os.path.join(run_dir, paths.MANIFEST_FILE)
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        return f.read()


def restore_manifest_bytes(run_dir: str, data: Optional[bytes]) -> None:
    """Writes back what :func:`manifest_bytes` returned."""
    path = os.path.join(run_dir, paths.MANIFEST_FILE)
    if data is None:
        if os.path.exists(path):
            os.remove(path)
    else:
        atomic_write_bytes(path, data)


#: What the final stage writes (and what rpu_evaluate / rpu_visualize derive from its model).
FINAL_OUTPUTS = (paths.PBT_DIR, paths.MODEL_DIR, paths.METRICS_DIR, paths.POSTPROCESSED_DIR,
                 paths.VISUALIZATIONS_DIR, paths.SUMMARY_FILE, paths.GROUND_TRUTH_DIR, paths.TENSORBOARD_DIR)


def stage_outputs(run_dir: str, stages: Sequence[str]) -> list[str]:
    """The paths of ``stages/<name>/`` of each of ``stages`` and of the final stage's outputs
    (:data:`FINAL_OUTPUTS`), each checked to lie inside ``run_dir``."""
    return [inside(run_dir, target) for target in
            [paths.stage_dir(run_dir, name) for name in stages] + [os.path.join(run_dir, p) for p in FINAL_OUTPUTS]]


def remove_paths(run_dir: str, targets: Sequence[str]) -> list[str]:
    """Deletes each of ``targets`` that exists (each checked to lie inside ``run_dir``; a
    symbolic link is removed, not followed); returns what it deleted."""
    removed = []
    for target in targets:
        inside(run_dir, target)  # never a deletion outside the run (names.py)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        elif os.path.lexists(target):
            os.remove(target)
        else:
            continue
        removed.append(target)
    return removed


def remove_stage_outputs(run_dir: str, stages: Sequence[str]) -> list[str]:
    """Deletes ``stages/<name>/`` of each of ``stages`` and the final stage's outputs
    (:data:`FINAL_OUTPUTS`); returns what it deleted (the manifest is the caller's)."""
    return remove_paths(run_dir, stage_outputs(run_dir, stages))


def write_summary(run_dir: str, summary: Mapping[str, Any]) -> None:
    atomic_write_json(os.path.join(run_dir, paths.SUMMARY_FILE), summary)


def has_stage_labels(run_dir: str, name: str) -> bool:
    return os.path.exists(paths.stage_labels_file(run_dir, name))


def write_stage_labels(run_dir: str, name: str, stage: StageLabels) -> None:
    """Writes ``stages/<name>/labels.npz`` (atomically, with its checksum record)."""
    none = np.zeros(0, np.int64)
    kept = none if stage.kept is None else np.asarray(stage.kept, np.int64)
    root = np.asarray(stage.root_indices, np.int64)
    save_state(paths.stage_labels_file(run_dir, name), {
        "root_indices": root, "labels": np.zeros((0, 0)) if stage.labels is None else stage.labels,
        "kl": np.asarray(stage.kl), "active": np.asarray(stage.active, np.int64), "kept": kept,
        "kept_root_indices": root[kept] if stage.kept is not None else none, "reduction": stage.reduction})


def redo_stage_hint(name: str) -> str:
    """What to do about a damaged file of stage ``name``: the command that recomputes it."""
    return (f"Recompute the stage and the ones after it: run the same rpu_train command with --redo_from={name} "
            "(or restore the file from a copy of the run).")


def read_stage_labels(run_dir: str, name: str) -> StageLabels:
    """The arrays of ``stages/<name>/labels.npz``, checked against its checksum record
    (:mod:`rpu_tf.utils.checksums`; one without a record, left by a kill between the file and its
    record, is read unchecked).
    :class:`~rpu_tf.utils.state_files.CorruptCheckpointError` (a ``DamagedFileError``: one
    line naming the file and ``--redo_from=<name>``) when it is truncated or altered."""
    saved = load_state(paths.stage_labels_file(run_dir, name), redo_stage_hint(name))
    labels, kept = saved.get("labels"), saved.get("kept")
    return StageLabels(root_indices=saved["root_indices"],
                       labels=labels if labels is not None and labels.size else None,
                       kl=saved["kl"], active=saved["active"],
                       kept=kept if kept is not None and kept.size else None,
                       reduction=saved.get("reduction", {}))
