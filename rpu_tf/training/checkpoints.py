"""Checkpoints of single-model training: an ``rpu_train`` run resumes after any interruption.

A single-model run directory (see :mod:`rpu_tf.layout.paths`) is claimed before the first
step: ``RUN/checkpoint/train.gin`` holds the run's settings (gin's operative config). Every
``model.checkpoint_every`` steps the replica group's full state (weights, Adam slots and
counters, global step, data-stream and noise seeds: :meth:`ReplicaGroup.save`) is written
atomically to ``RUN/checkpoint/state.npz``. Re-running the same command continues from it, and
because the group's streams and noise depend only on that state, the resumed run ends
bit-identical to one that was never stopped. Once the model is exported and its results
written, ``checkpoint/`` is removed (the claim first, so a kill half way never looks like a
fresh claim without a state). Both files have a checksum record beside them (``.sha256``,
:mod:`rpu_tf.utils.checksums`): damaged settings stop the command with one line naming the
file and ``--overwrite``; a damaged state is logged and training starts again from step 0.

Runs trained together (:func:`rpu_tf.training.train.train_runs`) keep their group's state in
the first run's ``checkpoint/`` with ``group.json`` naming the runs by the ids their claims
wrote (``checkpoint/run_id``), so a moved or renamed run, alone or in its group, resumes; the
others hold their claim only.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid

import numpy as np
from typing import Mapping, Sequence

from rpu_tf.layout import paths
from rpu_tf.layout.names import inside
from rpu_tf.layout.results import parse_gin_bindings, read_config_text
from rpu_tf.layout.run_state import (UNFINISHED, has_train_results, has_training_state, is_claimed, run_entries,
                                     state_precision)
from rpu_tf.training.precision import check_resume_precision
from rpu_tf.utils.checksums import write_checked_text
from rpu_tf.utils.files import atomic_write_json, read_json
from rpu_tf.utils.state_files import CorruptCheckpointError, load_state, save_state

logger = logging.getLogger(__name__)

#: Bindings a repeated run may change: how often it checkpoints and how it uses the machine.
#: ``training.precision`` is among them as a setting; the precision it resolves to must stay
#: the one the checkpoint trained in (:func:`restore`), so ``"auto"`` may be pinned to it.
RUNTIME_SETTINGS = ("model.checkpoint_every", "training.progress", "training.intra_op_threads",
                    "training.inter_op_threads", "training.precision")
#: What a stopped run may change besides: more (or the same) training steps continue it.
RESUMABLE_CHANGES = RUNTIME_SETTINGS + ("model.training_steps",)



def settings(config: str, ignored: Sequence[str] = RESUMABLE_CHANGES) -> dict[str, str]:
    """``{binding: value}`` of an operative config that fixes what a run computes (all but
    ``ignored``)."""
    return {key: value for key, value in parse_gin_bindings(config).items()
            if not any(key == name or key.endswith("/" + name) for name in ignored)}


def changed_settings(stored: str, current: str, ignored: Sequence[str] = RESUMABLE_CHANGES) -> list[str]:
    """``"binding: was X, now Y"`` for each setting that differs between two operative configs."""
    old, new = settings(stored, ignored), settings(current, ignored)
    return [f"{key}: was {old.get(key, '<unset>')}, now {new.get(key, '<unset>')}"
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]


#: What to do about a damaged ``train.gin`` of a single-model run.
RETRAIN = "Restore it from a copy of the run, or train the run afresh: the same rpu_train command with --overwrite."


def stored_config(model_dir: str, status: str) -> str:
    """The operative config a claimed (``unfinished``) or ``finished`` run was started with
    (``status``: :func:`rpu_tf.layout.run_state.single_model_status`), checked
    (:func:`rpu_tf.layout.results.read_config_text`): a damaged one is a ``DamagedFileError``
    naming it, not a list of changed settings."""
    path = paths.training_claim_file(model_dir) if status == UNFINISHED else paths.train_gin_file(model_dir)
    return read_config_text(path, RETRAIN)


def check_same_settings(model_dir: str, status: str, config: str) -> None:
    """Raises ``FileExistsError`` naming every changed setting when ``model_dir`` (``status``
    ``unfinished`` or ``finished``) was started with other settings than ``config``. A
    stopped run may also change ``model.training_steps`` (it trains on to the new count); a
    finished one has no optimizer state left to continue from."""
    ignored = RESUMABLE_CHANGES if status == UNFINISHED else RUNTIME_SETTINGS
    changed = changed_settings(stored_config(model_dir, status), config, ignored)
    if changed:
        what = "a stopped run" if status == UNFINISHED else "a finished run"
        raise FileExistsError(f"{model_dir} holds {what} with other settings ({'; '.join(changed)}); restore "
                              "them to resume, or pass --overwrite to train it afresh.")


def claim(model_dir: str, config: str) -> None:
    """Writes ``checkpoint/train.gin`` with its checksum record (this also checks that the
    folder is writable). A ``checkpoint/`` folder without a claim (a kill while claiming or
    releasing) is emptied."""
    folder = paths.training_checkpoint_dir(model_dir)
    if not is_claimed(model_dir):
        shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)
    if _run_id(model_dir) is None:  # before the claim: a kill in between leaves no claim, so it is redone
        with open(os.path.join(folder, paths.TRAINING_RUN_ID_FILE), "w", encoding="utf-8") as f:
            f.write(uuid.uuid4().hex)
    write_checked_text(paths.training_claim_file(model_dir), config)


def undo_unstarted_claims(model_dirs: Sequence[str], fresh: Mapping[str, set]) -> list[str]:
    """After a failure before the group's first checkpoint: deletes what this command wrote
    into each directory it started afresh (``fresh``: directory -> its entries before), so a
    refused setting (a claim with ``model.batch_size = 0``) does not block the corrected
    command with "was 0, now 8". Runs with a checkpoint or results are left to resume.
    Returns what it deleted."""
    if not model_dirs or has_training_state(model_dirs[0]):
        return []
    removed = []
    for model_dir, before in fresh.items():
        if has_train_results(model_dir):
            continue
        for entry in sorted(run_entries(model_dir) - set(before)):
            target = inside(model_dir, os.path.join(model_dir, entry))
            shutil.rmtree(target) if os.path.isdir(target) and not os.path.islink(target) else os.remove(target)
            removed.append(target)
    if removed:
        logger.info("Removed what the failed command started: %s.", ", ".join(removed))
    return removed


def _names(model_dirs: Sequence[str]) -> list[str]:
    return [os.path.basename(os.path.normpath(d)) for d in model_dirs]


def _group_file(model_dirs: Sequence[str]) -> str:
    return os.path.join(paths.training_checkpoint_dir(model_dirs[0]), paths.TRAINING_GROUP_FILE)


def _run_id(model_dir: str) -> str | None:
    try:
        with open(os.path.join(paths.training_checkpoint_dir(model_dir), paths.TRAINING_RUN_ID_FILE),
                  encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        return None


def _ids(model_dirs: Sequence[str]) -> list:
    return [_run_id(d) for d in model_dirs]


def _stored_group(model_dirs: Sequence[str]) -> dict:
    try:
        stored = read_json(_group_file(model_dirs))
        return stored if isinstance(stored, dict) else {}
    except (OSError, ValueError):
        return {}


def _same_group(model_dirs: Sequence[str]) -> bool:
    """Whether the first run's checkpoint trains exactly these runs, in this order: the ids their
    claims wrote (a moved or renamed run keeps its id)."""
    ids = _ids(model_dirs)
    return None not in ids and _stored_group(model_dirs).get("ids") == ids


def start_group(model_dirs: Sequence[str]) -> None:
    """Records in the first run's ``checkpoint/group.json`` which runs its state trains (call it
    after the claims, before the first checkpoint); the state of another grouping is deleted first."""
    if not _same_group(model_dirs):
        if os.path.exists(paths.training_state_file(model_dirs[0])):
            os.remove(paths.training_state_file(model_dirs[0]))
        atomic_write_json(_group_file(model_dirs), {"runs": _names(model_dirs), "ids": _ids(model_dirs)})


def save(group, model_dirs: Sequence[str]) -> None:
    """Writes ``group``'s state (training ``model_dirs``, in order; see :func:`start_group`)
    atomically into the first run's checkpoint folder, with the per-replica means of the last
    training chunk (what a run resumed after its last step reports)."""
    state = group.get_state()
    state["last_train_metrics"] = {k: np.asarray(v, np.float32) for k, v in group.last_train_metrics.items()}
    save_state(paths.training_state_file(model_dirs[0]), state)


def restore(group, model_dirs: Sequence[str]) -> bool:
    """Loads the first run's checkpoint into ``group`` when there is one for exactly these runs;
    returns whether it did. A checkpoint of another grouping, or an unreadable one (truncated,
    or differing from its checksum record; one without a record, left by a kill between the
    state and its record, is read unchecked), or one that records no precision (an earlier,
    unreleased rpu_tf wrote it), is logged and training starts from step 0 (every run of the
    group is then retrained, which rewrites it). A checkpoint trained in another precision than
    ``group``'s raises
    :class:`~rpu_tf.training.precision.PrecisionChangeError` (a run keeps its precision)."""
    if not has_training_state(model_dirs[0]):
        return False
    path = paths.training_state_file(model_dirs[0])
    if not _same_group(model_dirs):
        logger.warning("The checkpoint in %s trains the runs %s, not %s; starting from step 0.", path,
                       _stored_group(model_dirs).get("runs"), _names(model_dirs))
        return False
    try:
        state = load_state(path, "Training starts again from step 0 and rewrites it (same result, only later).")
    except CorruptCheckpointError as error:  # truncated, or differs from its checksum record
        logger.warning("%s", error)
        return False
    try:
        trained_in = state_precision(state, path)
    except (ValueError, KeyError) as error:
        logger.warning("The checkpoint %s cannot be used (%s); starting from step 0.", path, error)
        return False
    check_resume_precision(f"The stopped run in {model_dirs[0]}", trained_in, group.precision)
    try:
        metrics = state.pop("last_train_metrics", {})
        group.set_state(state)
    except (ValueError, KeyError) as error:
        logger.warning("The checkpoint %s cannot be used (%s); starting from step 0.", path, error)
        return False
    group.last_train_metrics = {k: np.asarray(v) for k, v in metrics.items()}
    logger.info("Resuming from the checkpoint at step %d (%s).", group.step, path)
    return True


def release(model_dir: str) -> None:
    """Removes ``checkpoint/`` of a finished run: its claim first, then the state."""
    if os.path.exists(paths.training_claim_file(model_dir)):
        os.remove(paths.training_claim_file(model_dir))
    shutil.rmtree(paths.training_checkpoint_dir(model_dir), ignore_errors=True)


def disk_bytes(group) -> int:
    """Bytes a run needs on disk at its peak: two copies of the checkpoint (float32 weights and
    the two Adam slots, 3x the weights; the atomic write holds old and new for a moment)."""
    weights = sum(int(w.size) * 4 for model in group.models for w in model.get_weights())
    return 6 * weights


def check_free_space(model_dir: str, needed: int) -> None:
    """Raises ``OSError`` (one line: folder, needed, free) when ``model_dir``'s file system has
    less than ``needed`` bytes free."""
    free = shutil.disk_usage(model_dir).free
    if free < needed:
        raise OSError(f"Not enough free space in {model_dir}: the run writes about {needed / 2**20:.1f} MiB "
                      f"(checkpoints and the exported model), {free / 2**20:.1f} MiB are free. Free some space "
                      "or choose another --model_dir.")


def load_results(model_dir: str) -> Mapping[str, object]:
    return read_json(paths.train_results_file(model_dir))


__all__ = ["RESUMABLE_CHANGES", "RUNTIME_SETTINGS", "changed_settings", "check_free_space", "check_same_settings",
           "claim", "release", "restore", "save", "settings", "start_group", "disk_bytes", "undo_unstarted_claims"]
