"""Training single models, alone or K at a time in one replica group, into
disentanglement_lib's result layout (the mechanism; the single-model pipelines that read it
from gin are :mod:`rpu_tf.pipelines.single_model` and :mod:`rpu_tf.pipelines.train_together`).

:func:`train_runs` trains :class:`SingleModelRun` objects and writes, under each run
directory ``model_dir`` (disentanglement_lib's "output directory")::

    model_dir/model/results/gin/train.gin
    model_dir/model/results/json/train_config.json
    model_dir/model/results/json/train_results.json
    model_dir/model/results/aggregate/train.json
    model_dir/model/model.keras           Keras file (keras.saving.load_model)
    model_dir/model/saved_model/          SavedModel: gaussian_encoder, decoder, reconstructions
    model_dir/checkpoint/                 while training: settings and the last checkpoint

A run is claimed before its first step and checkpointed every ``checkpoint_every`` steps
(:mod:`rpu_tf.training.checkpoints`): re-running the same command after a kill resumes it and
ends bit-identical to an uninterrupted run; re-running a finished run returns its results
without training; changed settings are refused, naming them (``--overwrite`` starts afresh).
``train_results.json`` records the ``precision`` the run trained in
(:mod:`rpu_tf.training.precision`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from rpu_tf.layout import paths, run_state
from rpu_tf.layout.guard import readied_directory
from rpu_tf.layout.lock import remove_stale_temporaries, run_lock
from rpu_tf.layout.paths import KERAS_FILE, SAVED_MODEL_DIR, TENSORBOARD_DIR, TRAINING_CHECKPOINT_DIR
from rpu_tf.layout.paths import MODEL_DIR as MODEL_SUBDIR
from rpu_tf.layout.results import update_result_directory
from rpu_tf.models.vae import BaseVAE
from rpu_tf.training import checkpoints, precision, runtime
from rpu_tf.training.export import export_keras, export_saved_model
from rpu_tf.training.optimizers import AdamSpec
from rpu_tf.training.replica_group import ReplicaGroup
from rpu_tf.training.summaries import SummaryWriter
from rpu_tf.training.supervision import Supervision

logger = logging.getLogger(__name__)

#: disentanglement_lib's evaluation metrics in train_results.json (plus loss, global_step).
RESULT_KEYS = ("loss", "reconstruction_loss", "elbo", "regularizer", "kl_loss")


@dataclasses.dataclass
class SingleModelRun:
    """One single-model run (what :func:`train_runs` trains; gin describes it to
    :func:`rpu_tf.pipelines.single_model.single_model_run`).

    ``operative_config`` is gin's operative config once everything the run reads was read:
    it becomes the run's ``train.gin`` (several runs may train together after their gin
    configs are gone).
    """

    model_dir: str
    model: BaseVAE
    training_steps: int
    random_seed: int
    batch_size: int
    eval_steps: int
    dataset: Any
    supervision: Optional[Supervision]
    optimizers: dict[str, AdamSpec]
    options: runtime.RuntimeOptions
    operative_config: str
    checkpoint_every: int = 2000


def _config_lines(run: SingleModelRun) -> list[str]:
    """The run's operative config without what runs trained together may differ in: the
    model's hyperparameters, ``model.random_seed``, ``model.name``, ``model.model_num``."""
    own = {f"{type(run.model).gin_name}.{name}" for name in run.model.hyperparameter_names}
    own |= {"model.random_seed", "model.name", "model.model_num"}
    return [line for line in run.operative_config.splitlines()
            if line.strip() and not line.startswith("#") and line.split(" = ")[0].strip() not in own]


def _together_problems(runs: Sequence[SingleModelRun]) -> list[str]:
    """Why ``runs`` cannot be one replica group (empty when they can)."""
    def key(run: SingleModelRun) -> dict:
        config = {k: v for k, v in run.model.get_config().items() if k not in ("name", "seed", "hyperparameters")}
        data = run.dataset
        return {"model": type(run.model).__name__, "architecture": config, "training_steps": run.training_steps,
                "batch_size": run.batch_size, "eval_steps": run.eval_steps, "optimizers": run.optimizers,
                "options": run.options, "supervision": run.supervision is not None,
                "data": (data.name, tuple(data.observation_shape), tuple(data.factors_num_values),
                         getattr(data, "num_observations", None))}
    lines = _config_lines(runs[0])
    first = key(runs[0])
    problems = []
    for run in runs[1:]:
        other = key(run)
        problems += [f"{run.model_dir}: {k} {other[k]!r} differs from {runs[0].model_dir}'s {first[k]!r}"
                     for k in first if other[k] != first[k]]
        theirs = _config_lines(run)
        problems += [f"{run.model_dir}: setting '{line}' differs from {runs[0].model_dir}'s"
                     for line in sorted(set(theirs) ^ set(lines))][:5]
    if len({os.path.realpath(run.model_dir) for run in runs}) != len(runs):
        problems.append("a run directory is given twice")
    if len(runs) > 1 and first["supervision"]:
        problems.append("semi-supervised runs train alone")
    return problems


def train_runs(runs: Sequence[SingleModelRun], overwrite: bool = False) -> list[dict[str, Any]]:
    """Trains ``runs`` (K >= 1) as one replica group and writes each run directory as if it
    had trained alone: replica k starts, samples, is noised and evaluated from run k's seed.
    The runs may differ only in their model's hyperparameters (e.g. a β sweep) and seeds
    (checked on their operative configs); every directory is locked and checked before any is
    cleared or claimed. Stopped runs resume from their checkpoint, finished ones with the same
    settings are returned as they are (nothing is trained or written). Each ``elapsed_time``
    is the shared wall time of the command that finished them, and ``trained_together``
    records K when K > 1."""
    if not runs:
        raise ValueError("train_runs needs at least one run.")
    problems = _together_problems(runs)
    if problems:
        raise ValueError("These runs cannot train together in one replica group: " + "; ".join(problems) + ".")
    first = runs[0]
    with contextlib.ExitStack() as locks:
        for run in runs:  # every directory locked and checked before any is changed
            locks.enter_context(run_lock(run.model_dir))  # one writer per run directory
        statuses = [_check_run_directory(run, overwrite) for run in runs]
        if not overwrite and all(status == run_state.FINISHED for status in statuses):
            results = [dict(checkpoints.load_results(run.model_dir)) for run in runs]
            current = precision.resolve_precision(precision.default_precision())
            for run in runs:
                trained_in = run_state.trained_precision(run.model_dir)
                if trained_in == current:
                    logger.info("%s is already trained with these settings; nothing to do (pass --overwrite to "
                                "train it again).", run.model_dir)
                else:  # a finished run is read on any machine; its results say what it trained in
                    logger.warning("%s is already trained with these settings, in %s (this process would train in "
                                   "%s); nothing to do (pass --overwrite to train it again in %s).", run.model_dir,
                                   trained_in, current, current)
            return results
        fresh = {}  # the directories this command starts afresh, with what they held before
        for run, status in zip(runs, statuses):
            if overwrite and status != run_state.FRESH:
                marker = (TRAINING_CHECKPOINT_DIR if os.path.isdir(paths.training_checkpoint_dir(run.model_dir))
                          else MODEL_SUBDIR)
                locks.enter_context(readied_directory(run.model_dir, True, marker))  # back if training fails
            elif status in (run_state.UNFINISHED, run_state.FINISHED):
                remove_stale_temporaries(run.model_dir)
            if overwrite or status == run_state.FRESH:
                fresh[run.model_dir] = set(os.listdir(run.model_dir))
            checkpoints.claim(run.model_dir, run.operative_config)
        try:
            return _train_locked(runs, first, resume=not overwrite)
        except BaseException:
            checkpoints.undo_unstarted_claims([run.model_dir for run in runs], fresh)
            raise


def _check_run_directory(run: SingleModelRun, overwrite: bool) -> str:
    """The status of ``run``'s directory (:func:`rpu_tf.layout.run_state.single_model_status`), or
    ``FileExistsError`` saying what to do where training there would lose or mix results."""
    status = run_state.single_model_status(run.model_dir)
    if status == run_state.FOREIGN:
        raise FileExistsError(f"Refusing to overwrite or resume in {run.model_dir}: it is not empty and holds neither "
                              f"a stopped run ({TRAINING_CHECKPOINT_DIR}/{paths.TRAINING_CLAIM_FILE}) nor a finished "
                              f"one ({paths.train_results_file('')}), so it does not look like an "
                              "output of this step. Delete it yourself if you mean it, or choose another --model_dir.")
    if overwrite or status == run_state.FRESH:
        return status
    checkpoints.check_same_settings(run.model_dir, status, run.operative_config)
    return status


def _train_locked(runs: Sequence[SingleModelRun], first: SingleModelRun, resume: bool) -> list[dict[str, Any]]:
    start = time.time()
    seeds = [np.random.RandomState(run.random_seed).randint(2**31 - 1, size=2) for run in runs]
    group = ReplicaGroup(first.model, first.dataset, num_replicas=len(runs), batch_size=first.batch_size,
                         random_seed=int(seeds[0][0]), optimizers=first.optimizers,
                         jit_compile=first.options.jit_compile, supervision=first.supervision)
    if len(runs) > 1:
        group.seed_replicas([int(s[0]) for s in seeds])
        for model, run in zip(group.models, runs):
            model.set_hyperparameters(**run.model.hyperparameters())
    model_dirs = [run.model_dir for run in runs]
    checkpoints.check_free_space(first.model_dir, checkpoints.disk_bytes(group))
    if resume and checkpoints.restore(group, model_dirs) and group.step > first.training_steps:
        raise ValueError(f"{first.model_dir}'s checkpoint is at step {group.step}, beyond model.training_steps = "
                         f"{first.training_steps}; train at least as many steps, or pass --overwrite.")
    checkpoints.start_group(model_dirs)
    trained = group.model(0)
    logger.info("Training %d x %s (%d latents, %s/%s; %s) on %s %s for %d steps of %d images in %s; %s.",
                len(runs), type(trained).__name__, trained.num_latent, trained.encoder_fn, trained.decoder_fn,
                ", ".join(str(m.hyperparameters()) for m in group.models), first.dataset.name,
                tuple(group.observation_shape), first.training_steps, group.batch_size, group.precision,
                runtime.describe_devices())
    if first.supervision is not None:
        logger.info("Semi-supervised: %s.", first.supervision.describe())
    log_every = max(1, first.training_steps // 10)
    writers = [SummaryWriter(os.path.join(run.model_dir, TENSORBOARD_DIR)) for run in runs]
    for k, writer in enumerate(writers):
        writer.write(group.step, {f"hyperparameters/{name}": value
                                  for name, value in {**group.hyperparameters(),
                                                      **group.model(k).hyperparameters()}.items()})

    next_log = [group.step + 1]  # models trained together: their log lines name each run's loss

    def curves(step: int, window: Mapping[str, np.ndarray]) -> None:
        for k, writer in enumerate(writers):
            writer.write(step, {f"train/{term}": values[k] for term, values in window.items()})
        if len(runs) > 1 and step >= next_log[0]:  # at about the log cadence of one model
            next_log[0] = (step // log_every + 1) * log_every
            logger.info("rpu_train step %d/%d: loss per run (mean of the last steps): %s.", step,
                        first.training_steps, _per_run(runs, window["loss"]))

    while group.step < first.training_steps:  # one chunk per checkpoint; chunks do not change results
        chunk = min(first.checkpoint_every - group.step % first.checkpoint_every, first.training_steps - group.step)
        metrics = group.train(chunk, progress=first.options.progress, desc="rpu_train",
                              log_every=log_every if len(runs) == 1 else 0,
                              on_window=curves, window_every=max(1, first.training_steps // 200))
        checkpoints.save(group, model_dirs)
        logger.info("Step %d/%d at %.0f images/s (%d replicas); %s; checkpoint saved.",
                    group.step, first.training_steps, metrics.get("images_per_second", 0.0), len(runs),
                    f"mean training loss {metrics.get('loss', float('nan')):.3f}" if len(runs) == 1 else
                    f"training loss per run {_per_run(runs, group.last_train_metrics['loss'])}")
    for writer in writers:
        writer.close()
    evaluation = group.evaluate(first.eval_steps, replica_seeds=[int(s[1]) for s in seeds])
    elapsed = time.time() - start
    written = []
    for k, run in enumerate(runs):
        output = os.path.join(run.model_dir, MODEL_SUBDIR)
        export_keras(group.model(k), os.path.join(output, KERAS_FILE))
        export_saved_model(group.model(k), os.path.join(output, SAVED_MODEL_DIR))
        results: dict[str, Any] = {key: float(evaluation[key][k]) for key in RESULT_KEYS if key in evaluation}
        results["global_step"] = group.step
        results["batch_size"] = group.batch_size
        results["training_images"] = group.step * group.batch_size  # the budget unit of fair comparisons
        results["precision"] = group.precision
        if run.supervision is not None:
            results["num_labelled"] = run.supervision.labelled.num_labelled
            if "supervised_loss" in group.last_train_metrics:  # mean over the last checkpoint interval
                results["supervised_loss"] = float(group.last_train_metrics["supervised_loss"][k])
        if len(runs) > 1:
            results["trained_together"] = len(runs)
        results["elapsed_time"] = elapsed
        update_result_directory(os.path.join(output, "results"), "train", results, gin_text=run.operative_config)
        logger.info("Wrote %s (reconstruction_loss %.3f).", output, results["reconstruction_loss"])
        written.append(results)
    for run in reversed(runs):  # the first run (holding the group's state) last
        checkpoints.release(run.model_dir)
    return written


def _per_run(runs: Sequence[SingleModelRun], losses: np.ndarray) -> str:
    """``DIR loss, DIR loss, ...``: each run's value of a ``(K,)`` loss."""
    return ", ".join(f"{run.model_dir} {float(loss):.3f}" for run, loss in zip(runs, losses))
