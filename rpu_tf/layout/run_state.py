"""What a run directory holds: the one place that answers it, for every module (no TensorFlow).

- its kind (:func:`run_kind`): ``"rpu_vae"`` (a ``manifest.json``, written before the first
  stage trains), ``"pbt_vae"`` (a ``pbt/`` folder), ``"single_model"`` (a claimed checkpoint or
  train results: :func:`single_model_status`), or None;
- the precision it trained in (:func:`trained_precision`; a resume keeps it);
- whether it is finished (:func:`is_finished`, :func:`read_summary`), resumable
  (:func:`is_resumable`), or holds other files that a new run replaces (:func:`needs_overwrite`);
- a single model's claim, checkpoint and results (:func:`is_claimed`, :func:`has_training_state`,
  :func:`has_train_results`), the entries a command added (:func:`run_entries`);
- whether it holds a model to evaluate (:func:`has_model`), an exported one
  (:func:`is_exported`), and its evaluations (:func:`is_evaluated`);
- the images it trained on (:func:`training_images`, :func:`run_training_images`), the budget
  unit of fair comparisons;
- its rPU-VAE stages (:func:`stages_done`), and a copy of the first ones into another run
  (:func:`copy_stages`).

Run directories written by earlier, unreleased versions of rpu_tf are not read: where one is
met, :class:`UnsupportedRunError` says so and what to do.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import zipfile
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from rpu_tf.layout import paths, rpu_files
from rpu_tf.layout.lock import LOCK_FILE
from rpu_tf.layout.pbt_files import read_generation_log
from rpu_tf.utils.files import read_json
from rpu_tf.utils.state_files import CorruptCheckpointError

#: The kinds of run directory (``pipeline.name`` of the run that writes one).
SINGLE_MODEL, PBT_VAE, RPU_VAE = "single_model", "pbt_vae", "rpu_vae"
#: What a single-model run directory holds (:func:`single_model_status`).
FRESH, UNFINISHED, FINISHED, FOREIGN = "fresh", "unfinished", "finished", "foreign"


class UnsupportedRunError(ValueError):
    """A run directory written by an earlier, unreleased version of rpu_tf (no longer read)."""


def _unsupported(path: str, what: str) -> UnsupportedRunError:
    return UnsupportedRunError(
        f"{path} {what}: it was written by an earlier, unreleased version of rpu_tf, whose run directories are "
        "no longer read. Train the run afresh (the same command with --overwrite), or read it with the rpu_tf "
        "that wrote it.")


# --- entries and a single model's files -----------------------------------------------------------
def run_entries(run_dir: str) -> set[str]:
    """The names in ``run_dir`` apart from its lock file (:data:`rpu_tf.layout.lock.LOCK_FILE`,
    which a command holds while it writes there); empty for a missing folder."""
    if not os.path.isdir(run_dir):
        return set()
    return {entry for entry in os.listdir(run_dir) if entry != LOCK_FILE}


def is_claimed(run_dir: str) -> bool:
    """Whether a single model's claim (``checkpoint/train.gin``) is written: it is training or stopped."""
    return os.path.isfile(paths.training_claim_file(run_dir))


def has_training_state(run_dir: str) -> bool:
    """Whether a single model's checkpoint (``checkpoint/state.npz``) is written (readable or not)."""
    return os.path.isfile(paths.training_state_file(run_dir))


def has_train_results(run_dir: str) -> bool:
    """Whether the run's train results (``model/results/json/train_results.json``) are written."""
    return os.path.isfile(paths.train_results_file(run_dir))


# --- kind ---------------------------------------------------------------------------------------
def single_model_status(run_dir: str) -> str:
    """What ``run_dir`` holds for a single-model run: ``"fresh"`` (missing or empty, the lock file
    apart, or a claim killed before it was written), ``"unfinished"`` (claimed: training or
    stopped), ``"finished"`` (train results written) or ``"foreign"`` (files that are no
    single-model run)."""
    entries = run_entries(run_dir)
    if not entries:
        return FRESH
    if is_claimed(run_dir):
        return UNFINISHED
    if has_train_results(run_dir):
        return FINISHED
    if entries == {paths.TRAINING_CHECKPOINT_DIR}:  # killed while claiming: nothing trained yet
        return FRESH
    return FOREIGN


def run_kind(run_dir: str) -> Optional[str]:
    """:data:`RPU_VAE`, :data:`PBT_VAE` or :data:`SINGLE_MODEL` for the run in ``run_dir``;
    None for a missing or empty folder and for one that holds no run."""
    if os.path.exists(os.path.join(run_dir, paths.MANIFEST_FILE)):
        return RPU_VAE
    if os.path.exists(os.path.join(run_dir, paths.PBT_DIR)):
        return PBT_VAE
    if single_model_status(run_dir) in (UNFINISHED, FINISHED):
        return SINGLE_MODEL
    return None


# --- finished, resumable ------------------------------------------------------------------------
def is_finished(run_dir: str) -> bool:
    """Whether the run has written its model (SavedModel) and train results (rPU-VAE: its
    ``summary.json`` too)."""
    model_dir = os.path.join(run_dir, paths.MODEL_DIR)
    model = (os.path.exists(os.path.join(model_dir, paths.SAVED_MODEL_DIR))
             and os.path.exists(paths.train_results_file(run_dir)))
    if run_kind(run_dir) == RPU_VAE:
        return model and os.path.exists(os.path.join(run_dir, paths.SUMMARY_FILE))
    return model


def read_summary(run_dir: str) -> Optional[dict[str, Any]]:
    """The rPU-VAE run's ``summary.json`` (written last: the run is finished), or None where it
    is not written yet; a damaged one is a ``DamagedFileError`` naming it."""
    path = os.path.join(run_dir, paths.SUMMARY_FILE)
    return read_json(path) if os.path.isfile(path) else None


def is_resumable(run_dir: str) -> bool:
    """Whether ``rpu_train`` continues the run in ``run_dir`` instead of replacing it: an
    rPU-VAE or PBT-VAE run (stopped, or finished: then it recomputes nothing), or a single
    model's claimed checkpoint (a kill loses at most ``model.checkpoint_every`` steps)."""
    return run_kind(run_dir) in (RPU_VAE, PBT_VAE) or single_model_status(run_dir) == UNFINISHED


def needs_overwrite(run_dir: str) -> bool:
    """Whether ``rpu_train`` must replace what ``run_dir`` holds (``--overwrite``): files, the
    lock file apart, of a run it does not continue (:func:`is_resumable`)."""
    return bool(run_entries(run_dir)) and not is_resumable(run_dir)


def is_pbt_finished(pbt_dir: str) -> bool:
    """Whether the PBT run folder ``pbt_dir`` has finished (its ``result.json`` is written)."""
    return os.path.exists(os.path.join(pbt_dir, paths.PBT_RESULT_FILE))


def missing_model_files(model_dir: str) -> list[str]:
    """The files a trained model folder (``RUN/model``) needs for evaluation that
    ``model_dir`` lacks, relative to it (SavedModel and the train step's gin config)."""
    required = [os.path.join(paths.SAVED_MODEL_DIR, "saved_model.pb"), paths.step_gin(paths.RESULTS_DIR, "train")]
    return [rel for rel in required if not os.path.isfile(os.path.join(model_dir, rel))]


def has_model(path: str) -> bool:
    """Whether ``path`` is a run directory (or its ``model/`` folder) with a trained model to
    evaluate (:func:`missing_model_files`)."""
    return not missing_model_files(os.path.join(path, paths.MODEL_DIR)) or not missing_model_files(path)


def is_exported(model_dir: str) -> bool:
    """Whether the model folder ``model_dir`` (``RUN/model``) holds a whole export: its train
    results (written last), Keras file and SavedModel folder. Which model the results name is
    theirs to say."""
    return (os.path.isfile(paths.step_results_json(paths.results_dir(model_dir), "train"))
            and os.path.isfile(os.path.join(model_dir, paths.KERAS_FILE))
            and os.path.isdir(os.path.join(model_dir, paths.SAVED_MODEL_DIR)))


def is_evaluated(run_dir: str, metrics: Sequence[str], representations: Sequence[str] = ("mean",)) -> bool:
    """Whether ``rpu_evaluate`` has written the result of every metric in ``metrics`` (names:
    ``mig``, ``dci``, ...) for every representation in ``representations`` (its
    ``metrics/<representation>/<metric>/results/aggregate/evaluation.json``)."""
    return all(os.path.exists(paths.step_aggregate_json(paths.results_dir(paths.metric_dir(run_dir, r, m)),
                                                        "evaluation"))
               for m in metrics for r in representations)


# --- precision ----------------------------------------------------------------------------------
def _config_precision(config: Any, where: str) -> str:
    precision = config.get("model_config", {}).get("precision")
    if not precision:
        raise _unsupported(where, "is a training state that records no precision")
    return str(precision)


def state_precision(state: Mapping[str, Any], where: str = "The state") -> str:
    """The precision the replica group that wrote ``state`` (``ReplicaGroup.get_state``)
    trained in: its config's ``model_config.precision``. :class:`UnsupportedRunError` (naming
    ``where``) for a state that records none."""
    return _config_precision(json.loads(str(np.asarray(state["config"]))), where)


def read_state_precision(path: str) -> str:
    """:func:`state_precision` of the state file ``path``, reading its config entry alone;
    ``CorruptCheckpointError`` if unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            config = json.loads(str(np.asarray(data["config"])))
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as e:
        raise CorruptCheckpointError(f"checkpoint {path} cannot be read: {e}") from e
    return _config_precision(config, path)


def pbt_precision(pbt_dir: str) -> Optional[str]:
    """The precision of the newest readable member checkpoint in the PBT folder ``pbt_dir``
    (None: no readable checkpoint)."""
    for _, folder in sorted(paths.checkpoint_generation_dirs(pbt_dir).items(), reverse=True):
        for name in sorted(os.listdir(folder), reverse=True):
            if not name.endswith(".npz"):
                continue
            try:
                return read_state_precision(os.path.join(folder, name))
            except CorruptCheckpointError:
                continue  # the controller recomputes it; an older one still tells
    return None


def _recorded_precision(path: str, required: Callable[[], bool]) -> Optional[str]:
    """The ``precision`` entry of the JSON file ``path`` (None: no file, unreadable, or no
    entry; :class:`UnsupportedRunError` for a readable file without one where ``required()``)."""
    if not os.path.isfile(path):
        return None
    try:
        precision = read_json(path).get("precision")
    except (OSError, ValueError, AttributeError):
        return None  # damaged: its reader says so
    if not precision and required():
        raise _unsupported(path, "records no training precision")
    return str(precision) if precision else None


def trained_precision(run_dir: str) -> Optional[str]:
    """The precision the run in ``run_dir`` trained in, from (in this order) its train results,
    an rPU-VAE manifest's record, a single model's checkpoint or its PBT checkpoints; None
    where it has trained nothing yet. :class:`UnsupportedRunError` for records that an earlier,
    unreleased rpu_tf wrote without it."""
    precision = _recorded_precision(paths.train_results_file(run_dir), required=lambda: True)
    if precision:
        return precision
    if run_kind(run_dir) == RPU_VAE:  # the manifest records it before the first stage trains
        return _recorded_precision(os.path.join(run_dir, paths.MANIFEST_FILE), lambda: training_begun(run_dir))
    if has_training_state(run_dir):
        try:
            return read_state_precision(paths.training_state_file(run_dir))
        except CorruptCheckpointError:
            pass  # training starts again from step 0 (rpu_tf.training.checkpoints.restore)
    return pbt_precision(os.path.join(run_dir, paths.PBT_DIR))


# --- stages -------------------------------------------------------------------------------------
def stages_done(run_dir: str) -> list[str]:
    """The finished metaEpochs of the rPU-VAE run in ``run_dir``, in the order they finished
    (the manifest's records; checked names: :func:`rpu_tf.layout.rpu_files.read_manifest`)."""
    return list(rpu_files.read_manifest(run_dir)["stages"])


def training_begun(run_dir: str) -> bool:
    """Whether the run in ``run_dir`` has begun training: a stage recorded or started, a PBT
    run (an rPU-VAE run's final stage) started, or a single model's checkpoint written."""
    stages = os.path.join(run_dir, paths.STAGES_DIR)
    return (bool(stages_done(run_dir)) or os.path.isdir(os.path.join(run_dir, paths.PBT_DIR))
            or (os.path.isdir(stages) and bool(os.listdir(stages)))
            or has_training_state(run_dir))


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # files are replaced atomically, never edited in place
    except OSError:
        shutil.copy2(src, dst)


def copy_stages(source_dir: str, run_dir: str, leaf_runs: int) -> None:
    """Starts ``run_dir`` from ``source_dir``'s initial metaEpoch and first ``leaf_runs``
    leaf-runs (an rPU-VAE run with fewer leaf-runs trains exactly those first), without its
    final stage, so ``rpu_train`` on ``run_dir`` trains only the final PBT-S-VAE. Files are
    hard links where the file system allows; nothing happens once ``run_dir`` has a manifest
    (written last: a copy stopped half way starts again)."""
    if run_kind(run_dir) == RPU_VAE:
        return
    manifest = rpu_files.read_manifest(source_dir)
    keep = {name: record for name, record in manifest["stages"].items()
            if record.get("leaf_run") is None or int(record["leaf_run"]) <= leaf_runs}
    os.makedirs(os.path.join(run_dir, paths.STAGES_DIR), exist_ok=True)
    for name in keep:
        target = paths.stage_dir(run_dir, name)
        if not os.path.exists(target):
            partial = target + ".partial"
            shutil.rmtree(partial, ignore_errors=True)  # a copy stopped half way starts again
            shutil.copytree(paths.stage_dir(source_dir, name), partial, copy_function=_link_or_copy)
            os.replace(partial, target)
    shared = {k: v for k, v in manifest.items() if k not in ("stages", "final", "leaf_runs")}
    rpu_files.write_manifest(run_dir, {**rpu_files.empty_manifest(), **shared, "stages": keep})


# --- images trained -----------------------------------------------------------------------------
def pbt_training_images(pbt_dir: str) -> int:
    """Training images of one PBT run folder (0 when it has not trained yet): every image every
    replica of every member trained on, ``sum(num_steps * batch_size) * num_replicas`` over
    ``generations.jsonl`` (each member at its own batch size) and ``pbt_config.json``."""
    if not os.path.exists(os.path.join(pbt_dir, paths.GENERATIONS_FILE)):
        return 0
    config = read_json(os.path.join(pbt_dir, paths.PBT_CONFIG_FILE))
    replicas = int(config.get("fingerprint", {}).get("num_replicas", 1))
    images = sum(int(r.get("num_steps", 0)) * int(r["hyperparameters"]["batch_size"])
                 for r in read_generation_log(pbt_dir))
    return images * replicas


def run_training_images(run_dir: str) -> dict[str, int]:
    """``{part: images}`` of a run directory: ``stages/<stage>`` for each metaEpoch, ``final``
    (or ``pbt``) for the run's own PBT, and ``total``."""
    parts = {}
    for stage in sorted(glob.glob(os.path.join(run_dir, paths.STAGES_DIR, "*", paths.PBT_DIR))):
        parts[os.path.basename(os.path.dirname(stage))] = pbt_training_images(stage)
    own = os.path.join(run_dir, paths.PBT_DIR)
    if os.path.isdir(own):
        parts["final" if parts else "pbt"] = pbt_training_images(own)
    parts["total"] = sum(parts.values())
    return parts


def training_images(run_dir: str) -> int:
    """Training images the run in ``run_dir`` consumed: PBT-VAE and rPU-VAE runs count every
    member and replica (:func:`run_training_images`), a finished single model's train results
    record it."""
    if is_resumable(run_dir):
        return int(run_training_images(run_dir)["total"])
    path = paths.train_results_file(run_dir)
    results = read_json(path)
    if "training_images" not in results:
        raise _unsupported(path, "records no training_images")
    return int(results["training_images"])


__all__ = ["FINISHED", "FOREIGN", "FRESH", "PBT_VAE", "RPU_VAE", "SINGLE_MODEL", "UNFINISHED", "UnsupportedRunError",
           "copy_stages", "has_model", "has_train_results", "has_training_state", "is_claimed", "is_evaluated",
           "is_exported", "is_finished", "is_pbt_finished", "is_resumable", "missing_model_files", "needs_overwrite",
           "pbt_precision", "pbt_training_images", "read_state_precision", "read_summary", "run_entries", "run_kind",
           "run_training_images", "single_model_status", "stages_done", "state_precision", "trained_precision",
           "training_begun", "training_images"]
