"""The files of an rPU-VAE run: ``manifest.json``, ``stages/<stage>/labels.npz``, ``summary.json``.

``manifest.json``::

    {"stages": {name: StageRecord}, "leaf_runs": [[{"labelled_images", "labels"}, ...], ...],
     "final": {best_score, generations, stop_reason, best_hyperparameters, leaf_run_scores,
               ground_truth?} or null,
     "settings": {binding: value}, "precision": "float32" | "mixed_bfloat16" | "mixed_float16"}

``labels.npz`` of a stage (arrays; latent indices 0-based)::

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
from rpu_tf.utils.files import atomic_write_json, read_json
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


def has_manifest(run_dir: str) -> bool:
    return os.path.exists(os.path.join(run_dir, paths.MANIFEST_FILE))


def read_manifest(run_dir: str) -> dict:
    """The run's manifest, or an empty one for a new run."""
    path = os.path.join(run_dir, paths.MANIFEST_FILE)
    return read_json(path) if os.path.exists(path) else empty_manifest()


def write_manifest(run_dir: str, manifest: Mapping[str, Any]) -> None:
    atomic_write_json(os.path.join(run_dir, paths.MANIFEST_FILE), manifest)


#: What the final stage writes (and what rpu_evaluate / rpu_visualize derive from its model).
FINAL_OUTPUTS = (paths.PBT_DIR, paths.MODEL_DIR, paths.METRICS_DIR, paths.POSTPROCESSED_DIR,
                 paths.VISUALIZATIONS_DIR, paths.SUMMARY_FILE, paths.GROUND_TRUTH_DIR, paths.TENSORBOARD_DIR)


def remove_stage_outputs(run_dir: str, stages: Sequence[str]) -> list[str]:
    """Deletes ``stages/<name>/`` of each of ``stages`` and the final stage's outputs
    (:data:`FINAL_OUTPUTS`); returns what it deleted (the manifest is the caller's)."""
    removed = []
    for target in [paths.stage_dir(run_dir, name) for name in stages] + [os.path.join(run_dir, p) for p in FINAL_OUTPUTS]:
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        elif os.path.lexists(target):
            os.remove(target)
        else:
            continue
        removed.append(target)
    return removed


def write_summary(run_dir: str, summary: Mapping[str, Any]) -> None:
    atomic_write_json(os.path.join(run_dir, paths.SUMMARY_FILE), summary)


def has_stage_labels(run_dir: str, name: str) -> bool:
    return os.path.exists(paths.stage_labels_file(run_dir, name))


def write_stage_labels(run_dir: str, name: str, stage: StageLabels) -> None:
    """Writes ``stages/<name>/labels.npz`` (atomically)."""
    none = np.zeros(0, np.int64)
    kept = none if stage.kept is None else np.asarray(stage.kept, np.int64)
    root = np.asarray(stage.root_indices, np.int64)
    save_state(paths.stage_labels_file(run_dir, name), {
        "root_indices": root, "labels": np.zeros((0, 0)) if stage.labels is None else stage.labels,
        "kl": np.asarray(stage.kl), "active": np.asarray(stage.active, np.int64), "kept": kept,
        "kept_root_indices": root[kept] if stage.kept is not None else none, "reduction": stage.reduction})


def read_stage_labels(run_dir: str, name: str) -> StageLabels:
    saved = load_state(paths.stage_labels_file(run_dir, name))
    labels, kept = saved.get("labels"), saved.get("kept")
    return StageLabels(root_indices=saved["root_indices"],
                       labels=labels if labels is not None and labels.size else None,
                       kl=saved["kl"], active=saved["active"],
                       kept=kept if kept is not None and kept.size else None,
                       reduction=saved.get("reduction", {}))
