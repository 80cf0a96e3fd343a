"""Finished metaEpochs on disk (``manifest.json`` and ``labels.npz``), so a re-run resumes.

The file schema is :mod:`rpu_tf.layout.rpu_files`'; this is Algorithm 1's
:class:`~rpu_tf.rpu.algorithm.Journal` on top of it.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
from typing import Any, Iterator, Mapping, Optional

import numpy as np

from rpu_tf.layout import paths, rpu_files, run_state
from rpu_tf.layout.names import FINAL_STAGE, check_stage_name
from rpu_tf.layout.replace import set_aside
from rpu_tf.layout.rpu_files import StageLabels, StageRecord
from rpu_tf.rpu.algorithm import LabelBlocks, StageOutcome
from rpu_tf.rpu.reduction import ReductionResult
from rpu_tf.training.precision import check_resume_precision
from rpu_tf.utils.files import DamagedFileError
from rpu_tf.utils.state_files import CorruptCheckpointError

logger = logging.getLogger(__name__)


class StageJournal:
    """The manifest and the stages' label files of the run in ``run_dir``."""

    def __init__(self, run_dir: str):
        self.run_dir = run_dir
        self.manifest = rpu_files.read_manifest(run_dir)
        self._finished_in: Optional[tuple[str, str]] = None  # (trained in, would train in): check_precision
        self._rebuilding: dict[str, str] = {}  # stage -> why its labels are rebuilt (load)
        if run_state.run_kind(run_dir) != run_state.RPU_VAE:  # marks the folder as an rPU-VAE run from the start,
            rpu_files.write_manifest(run_dir, self.manifest)  # so one stopped in its first stage resumes

    def check_settings(self, settings: Mapping[str, str]) -> None:
        """Records the settings the stages are computed with; on a resume with finished stages,
        raises ``ValueError`` naming every setting that changed (a finished stage would
        otherwise be reused as if computed with the new ones)."""
        stored = self.manifest.get("settings")
        if stored is not None and self.manifest["stages"] and dict(stored) != dict(settings):
            changed = [f"{key}: was {stored.get(key, '<unset>')}, now {settings.get(key, '<unset>')}"
                       for key in sorted(set(stored) | set(settings)) if stored.get(key) != settings.get(key)]
            first = next(iter(self.manifest["stages"]))
            raise ValueError(f"{self.run_dir}: its finished stages ({', '.join(self.manifest['stages'])}) were "
                             f"computed with other settings: {'; '.join(changed)}. Restore those settings to "
                             "resume; or recompute with the new ones from a stage on (that stage, every later "
                             f"one and the final stage; earlier ones are kept): --redo_from=STAGE (e.g. "
                             f"--redo_from={first}, or --redo_from=final for the final stage alone); or pass "
                             "--overwrite to compute every stage again.")
        if stored != dict(settings):
            self.manifest["settings"] = dict(settings)
            rpu_files.write_manifest(self.run_dir, self.manifest)

    def check_precision(self, precision: str, redo: bool = False) -> None:
        """Records the (concrete) precision the run trains in. Raises
        :class:`~rpu_tf.training.precision.PrecisionChangeError` when the run has trained in
        another one (:func:`rpu_tf.layout.run_state.trained_precision`) and is unfinished, or
        ``redo`` (``--redo_from`` is about to recompute stages): its stages would mix
        precisions. A finished run is read in any precision, but a stage it has not trained yet
        (more leaf-runs) is then refused in :meth:`load`."""
        self._finished_in = None
        stored = run_state.trained_precision(self.run_dir) if run_state.training_begun(self.run_dir) else None
        if stored is not None and stored != precision:
            if self.manifest["final"] is not None and not redo:
                self._finished_in = (stored, precision)
                return
            check_resume_precision(f"The stopped rPU-VAE run in {self.run_dir}", stored, precision)
        if self.manifest.get("precision") != (stored or precision):
            self.manifest["precision"] = stored or precision
            rpu_files.write_manifest(self.run_dir, self.manifest)

    def load(self, name: str) -> Optional[StageOutcome]:
        """The finished stage ``name``, or None when it is to be trained (refused when a
        finished run would train it in another precision: :meth:`check_precision`). A recorded
        stage whose ``labels.npz`` is missing or damaged (:func:`rpu_files.read_stage_labels`)
        is trained again, which resumes its finished PBT run and labels anew; :meth:`save` then
        keeps the new labels only if the stage comes out as recorded."""
        if name in self.manifest["stages"]:
            try:
                saved = rpu_files.read_stage_labels(self.run_dir, name)
            except CorruptCheckpointError as error:  # missing, truncated or altered
                self._rebuilding[name] = str(error).split("; ")[0]
                logger.warning("rPU-VAE %s: %s; rebuilding the labels from the stage's finished PBT run.", name,
                               self._rebuilding[name])
            else:
                return StageOutcome(StageRecord(**self.manifest["stages"][name]), saved.root_indices,
                                    saved.labels, saved.kept)
        if self._finished_in is not None:
            stored, precision = self._finished_in
            check_resume_precision(f"The finished rPU-VAE run in {self.run_dir}, given stage {name} to train,",
                                   stored, precision)
        return None

    def save(self, outcome: StageOutcome) -> None:
        """Writes a finished stage's labels and record. A stage rebuilt because its labels were
        damaged (:meth:`load`) must come out as the manifest records it, else nothing is
        written and ``DamagedFileError`` says which ``--redo_from`` recomputes it."""
        record = outcome.record
        if record.name in self._rebuilding:
            self._check_rebuilt(record)
        rpu_files.write_stage_labels(self.run_dir, record.name, StageLabels(
            root_indices=outcome.root_indices, labels=outcome.labels, kl=np.asarray(record.kl),
            active=np.asarray(record.active_latents, np.int64), kept=outcome.kept,
            reduction=reduction_record(outcome.reduction)))
        self.manifest["stages"][record.name] = record.to_json()
        rpu_files.write_manifest(self.run_dir, self.manifest)
        if self._rebuilding.pop(record.name, None) is not None:
            logger.warning("rPU-VAE %s: rebuilt %s; the stage came out as the run recorded it.", record.name,
                           paths.stage_labels_file(self.run_dir, record.name))

    def _check_rebuilt(self, record: StageRecord) -> None:
        recorded = self.manifest["stages"][record.name]
        differ = sorted(key for key, value in record.to_json().items() if recorded.get(key) != value)
        if differ:
            raise DamagedFileError(f"{self._rebuilding[record.name]}; recomputing stage {record.name} gave another "
                                   f"result than the run recorded ({', '.join(differ)} differ), so the stages after "
                                   f"it would not fit. {rpu_files.redo_stage_hint(record.name)}")

    def save_leaf_runs(self, surrogate: list[LabelBlocks]) -> None:
        self.manifest["leaf_runs"] = [[{"labelled_images": int(len(idx)), "labels": int(lab.shape[1])}
                                       for idx, lab in run] for run in surrogate]
        rpu_files.write_manifest(self.run_dir, self.manifest)

    @contextlib.contextmanager
    def redoing_from(self, stage: str) -> Iterator[list[str]]:
        """Forgets ``stage``, every stage recorded after it and the final stage (``"final"``:
        the final stage alone) while the body recomputes them; the stages before are kept and
        the next :meth:`check_settings` takes the new settings. Their files are set aside,
        not deleted, until the body succeeds: when it raises, the manifest and the files are
        as before (:func:`rpu_tf.layout.replace.set_aside`). Yields the paths set aside.
        Raises ``ValueError`` for a stage the run does not have."""
        names = list(self.manifest["stages"])  # checked names (rpu_files.check_manifest)
        if stage != FINAL_STAGE and stage not in names:
            raise ValueError(f"--redo_from={stage}: {self.run_dir} has no such stage; its stages are "
                             f"{', '.join(names) or 'none yet'} (or 'final').")
        check_stage_name(stage, "--redo_from", allow_final=True, hint="give a stage of the run")
        dropped = [] if stage == FINAL_STAGE else names[names.index(stage):]
        before, saved = copy.deepcopy(self.manifest), rpu_files.manifest_bytes(self.run_dir)
        stages_dir = os.path.join(self.run_dir, paths.STAGES_DIR)
        existing = set(os.listdir(stages_dir)) if os.path.isdir(stages_dir) else set()
        with set_aside(self.run_dir, rpu_files.stage_outputs(self.run_dir, dropped)) as moved:
            for name in dropped:
                del self.manifest["stages"][name]
            self.manifest["final"], self.manifest["leaf_runs"] = None, []  # recomputed from the stages
            self.manifest.pop("settings", None)  # the stages kept are taken as valid under the new ones
            rpu_files.write_manifest(self.run_dir, self.manifest)
            try:
                yield moved
            except Exception:
                new = set(os.listdir(stages_dir)) - existing if os.path.isdir(stages_dir) else set()
                rpu_files.remove_paths(self.run_dir, [os.path.join(stages_dir, name) for name in new])
                self.manifest = before
                rpu_files.restore_manifest_bytes(self.run_dir, saved)  # byte for byte
                raise

    def save_final(self, final: Mapping[str, Any]) -> None:
        self.manifest["final"] = dict(final)
        rpu_files.write_manifest(self.run_dir, self.manifest)


def reduction_record(reduction: Optional[ReductionResult]) -> dict:
    """Per active latent: its peaks (sorted positions), the peak threshold, the gap smoothing
    window (1: raw gaps) and, when a set was kept, the rank among its candidates and the
    ``(start, stop)`` of the chosen interval."""
    if reduction is None:
        return {}
    out = {}
    for j, latent in enumerate(reduction.latents):
        entry = {"peaks": np.asarray(latent.peaks, np.int64), "threshold": np.asarray(latent.threshold),
                 "gap_window": np.asarray(latent.window, np.int64)}
        if j < len(reduction.chosen) and reduction.chosen[j] is not None and latent.intervals:
            entry["chosen_rank"] = np.asarray(reduction.chosen[j], np.int64)
            entry["chosen_interval"] = np.asarray(latent.intervals[reduction.chosen[j]], np.int64)
        out[str(j)] = entry
    return out
