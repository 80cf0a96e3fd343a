"""Runs a study: every (method, seed) as an ordinary, resumable ``rpu_train`` run directory,
then the same evaluation of each (``rpu_evaluate``), then the report.

Layout of ``STUDY_DIR``::

    status.json                  per run: state, wall seconds, training images, error, and
                                 while it trains or is evaluated, the attempt in progress
    budget.json                  the budget of training images the baselines got
    precision.json               the precision every run trains in (rpu_tf.studies.precision)
    runs/<method>/seed<k>/       rpu_train run directories (evaluated in place)
    logs/<method>_seed<k>.log    each run's and evaluation's output
    selection.json               UDR model selection: the chosen model per seed

Each run is a subprocess (``python -m rpu_tf.cli.train``; then ``rpu_tf.cli.evaluate``), so a crash or a memory leak of one
run does not take the others with it (runs of one ``train_group`` and seed train in one
``rpu_tf.cli.train_together`` process, each is then evaluated alone; the group's training
time is split evenly among them in ``status.json``); a failed run is recorded, the study goes on, and the
next invocation retries it. Re-running the study skips what is done and resumes what is
not (rPU-VAE and PBT runs resume from their last checkpoint, single models from theirs). The
time of an attempt that a killed invocation left unfinished still counts in its runs' wall
seconds: up to the last write to its log, found by the next invocation.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import subprocess
import sys
import time
from typing import Callable, Optional

import gin

from rpu_tf import registry
from rpu_tf.evaluation.pipeline import evaluate_model
from rpu_tf.layout import paths, rpu_files
from rpu_tf.layout.budget import run_training_images
from rpu_tf.studies.precision import leaves_precision_to_auto, precision_binding, study_precision
from rpu_tf.studies.spec import Method, Study, leaf_run_name, slug
from rpu_tf.studies.status import ATTEMPT, StudyStatus, count_stopped_attempts
from rpu_tf.training import checkpoints
from rpu_tf.training.train import train_together_with_gin
from rpu_tf.utils.files import atomic_write_json, read_json
from rpu_tf.utils.gin_files import parse_gin, pipeline_name

logger = logging.getLogger(__name__)

BUDGET_FILE = "budget.json"


@dataclasses.dataclass(frozen=True)
class Run:
    """One (method variant, seed) of a study."""

    method: Method
    name: str  # the variant's name (rPU-VAE: with its leaf-run count)
    seed: int
    run_dir: str
    leaf_runs: Optional[int] = None

    @property
    def key(self) -> str:
        return f"{slug(self.name)}/seed{self.seed}"

    @property
    def label(self) -> str:
        """Its Fig. 4 box / table row: rPU-VAE variants other than the largest are their own."""
        if self.method.kind == "rpu_vae" and self.leaf_runs != max(self.method.leaf_runs):
            return self.name
        return self.method.label


def plan_runs(study: Study, study_dir: str) -> list[Run]:
    """Every training run of the study, in the order they run: rPU-VAE first (its images set
    the budget; per method the largest leaf-run count first, whose stages the others reuse),
    then the baselines. UDR selections train nothing and are not in the list."""
    runs: list[Run] = []
    for method in study.methods:
        if method.kind != "rpu_vae":
            continue
        for count in sorted(set(method.leaf_runs), reverse=True):
            name = leaf_run_name(method, count)
            runs += [Run(method, name, s, os.path.join(study_dir, "runs", slug(name), f"seed{s}"), count)
                     for s in study.seeds]
    for method in study.methods:
        if method.kind == "train":
            runs += [Run(method, method.name, s, os.path.join(study_dir, "runs", slug(method.name), f"seed{s}"))
                     for s in study.seeds]
    return runs


def _resolve(study: Study, config: str) -> str:
    return config if os.path.isabs(config) else os.path.normpath(os.path.join(study.base_dir, config))


@dataclasses.dataclass(frozen=True)
class TrainJob:
    """An ``rpu_train`` invocation."""

    model_dir: str
    configs: tuple[str, ...]
    bindings: tuple[str, ...]
    overwrite: bool = False

    def argv(self) -> list[str]:
        return ([f"--model_dir={self.model_dir}"] + [f"--gin_config={c}" for c in self.configs]
                + [f"--gin_bindings={b}" for b in self.bindings] + (["--overwrite"] if self.overwrite else []))


@dataclasses.dataclass(frozen=True)
class TrainTogetherJob:
    """An ``rpu_train_together`` invocation: runs of one ``train_group`` and seed as one group."""

    jobs: tuple[TrainJob, ...]

    @property
    def overwrite(self) -> bool:
        """Whether any run's directory holds something that cannot resume (then all start again)."""
        return any(job.overwrite for job in self.jobs)

    def argv(self) -> list[str]:
        shared = self.jobs[0].configs
        return ([f"--gin_config={c}" for c in shared] + [f"--run={j.model_dir}::{';'.join(j.bindings)}"
                                                         for j in self.jobs] + (["--overwrite"] if self.overwrite else []))


@dataclasses.dataclass(frozen=True)
class EvaluateJob:
    """An ``rpu_evaluate`` invocation (mean representation, replacing earlier results)."""

    model_dir: str
    metrics: tuple[str, ...]

    def argv(self) -> list[str]:
        return ([f"--model_dir={self.model_dir}", "--representations=mean", "--overwrite"]
                + [f"--gin_config={m}" for m in self.metrics])


def subprocess_launcher(job, log_path: str) -> int:
    """Runs ``job`` as ``python -m rpu_tf.cli.{train,evaluate}``, output appended to ``log_path``;
    returns its exit status (a crash of the job is a non-zero status, not an exception)."""
    module = {TrainJob: "rpu_tf.cli.train", TrainTogetherJob: "rpu_tf.cli.train_together"}.get(
        type(job), "rpu_tf.cli.evaluate")
    command = [sys.executable, "-m", module] + job.argv()
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    python_path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
           "PYTHONPATH": python_path}  # the children import this rpu_tf, installed or not
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(command)}\n")
        log.flush()
        return subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=env)


def in_process_launcher(job, log_path: str) -> int:
    """Runs ``job`` in this process (tests, debugging): 0, or 1 with the error in ``log_path``."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    try:
        if isinstance(job, TrainJob):
            registry.register_gin_configurables()
            try:
                parse_gin(list(job.configs), list(job.bindings))
                name = pipeline_name()
            finally:
                gin.clear_config()
            registry.pipeline(name)(job.model_dir, job.overwrite, list(job.configs), list(job.bindings))
        elif isinstance(job, TrainTogetherJob):
            registry.register_gin_configurables()
            train_together_with_gin([j.model_dir for j in job.jobs], job.overwrite, list(job.jobs[0].configs),
                                    [list(j.bindings) for j in job.jobs])
        else:
            evaluate_model(job.model_dir, list(job.metrics), representations=("mean",), overwrite=True)
    except Exception as error:  # noqa: BLE001 -- a failed run is recorded, the study goes on
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"{type(error).__name__}: {error}\n")
        return 1
    return 0


def train_job(study: Study, run: Run, budget_images: Optional[int]) -> TrainJob:
    """The ``rpu_train`` job of ``run``: its method's configs and bindings, its seed, its
    leaf-run count, the study's budget, and the study's precision where the run leaves it to
    ``"auto"`` (once :func:`run_study` has resolved it; :mod:`rpu_tf.studies.precision`)."""
    method = run.method
    bindings = list(method.bindings) + list(study.common_bindings) + [method.seed_binding.format(seed=run.seed)]
    if run.leaf_runs is not None:
        bindings.append(f"rpu_vae.max_leaf_runs = {run.leaf_runs}")
    if method.budget_binding is not None:
        if budget_images is None:
            raise RuntimeError(f"{run.name}: the budget is not known yet (the rPU-VAE runs set it).")
        bindings.append(method.budget_binding.format(units=method.budget_units(budget_images)))
    configs = tuple(_resolve(study, c) for c in method.configs)
    if study.precision != "auto" and leaves_precision_to_auto(configs, bindings):
        bindings.append(precision_binding(study.precision))
    # stopped runs resume (rPU-VAE and PBT from their stages and generations, single models
    # from their last checkpoint); anything else in the directory is replaced
    overwrite = os.path.isdir(run.run_dir) and bool(os.listdir(run.run_dir)) and not _resumable(run.run_dir)
    return TrainJob(run.run_dir, configs, tuple(bindings), overwrite)


def _resumable(run_dir: str) -> bool:
    """Whether ``run_dir`` holds a stopped run that ``rpu_train`` resumes: an rPU-VAE or PBT run,
    or a single model's claimed checkpoint (a kill loses at most ``model.checkpoint_every``
    steps instead of the whole run)."""
    return (any(os.path.exists(os.path.join(run_dir, marker)) for marker in (paths.MANIFEST_FILE, paths.PBT_DIR))
            or checkpoints.run_status(run_dir) == checkpoints.UNFINISHED)


def is_trained(run_dir: str) -> bool:
    """Whether a run directory holds its finished model and its train results (rPU-VAE: its
    summary too)."""
    model_dir = os.path.join(run_dir, paths.MODEL_DIR)
    model = os.path.exists(os.path.join(model_dir, paths.SAVED_MODEL_DIR)) and os.path.exists(
        paths.step_results_json(paths.results_dir(model_dir), "train"))
    if os.path.exists(os.path.join(run_dir, paths.MANIFEST_FILE)):
        return model and os.path.exists(os.path.join(run_dir, paths.SUMMARY_FILE))
    return model


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # files are replaced atomically, never edited in place
    except OSError:
        shutil.copy2(src, dst)


def share_stages(source_dir: str, run_dir: str, leaf_runs: int) -> None:
    """Starts ``run_dir`` from ``source_dir``'s initial metaEpoch and first ``leaf_runs``
    leaf-runs (an rPU-VAE run with fewer leaf-runs trains exactly those first), without its
    final stage, so rpu_train on ``run_dir`` trains only the final PBT-S-VAE."""
    if os.path.exists(os.path.join(run_dir, paths.MANIFEST_FILE)):
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


def training_images(run_dir: str) -> int:
    """Training images a finished run consumed (PBT and rPU-VAE: every member and replica)."""
    if _resumable(run_dir):
        return int(run_training_images(run_dir)["total"])
    results = read_json(paths.step_results_json(paths.results_dir(os.path.join(run_dir, paths.MODEL_DIR)), "train"))
    if "training_images" not in results:
        raise ValueError(f"{run_dir}: its train results have no training_images (trained by an older rpu_tf?); "
                         "train it again to count its images.")
    return int(results["training_images"])


def evaluate_job(study: Study, run_dir: str) -> EvaluateJob:
    return EvaluateJob(run_dir, tuple(_resolve(study, m) for m in study.metrics))


def is_evaluated(study: Study, run_dir: str) -> bool:
    names = [os.path.splitext(os.path.basename(m))[0] for m in study.metrics]
    return all(os.path.exists(paths.step_aggregate_json(paths.results_dir(paths.metric_dir(run_dir, "mean", n)),
                                                        "evaluation")) for n in names)


def measured_budget(study: Study, study_dir: str, status: StudyStatus) -> Optional[int]:
    """The budget: given, or the most images any seed of the rPU-VAE method's largest
    variant consumed (None until all of them are done)."""
    path = os.path.join(study_dir, BUDGET_FILE)
    if study.budget_images is not None:
        budget = {"budget_images": study.budget_images, "source": "study.budget_images"}
    elif os.path.exists(path) and read_json(path).get("seeds") == list(study.seeds):
        return int(read_json(path)["budget_images"])
    else:
        method = study.budget_method
        name = leaf_run_name(method, max(method.leaf_runs))
        keys = [f"{slug(name)}/seed{s}" for s in study.seeds]
        images = [status.get(k).get("training_images") for k in keys]
        if any(status.get(k).get("state") != "done" or v is None for k, v in zip(keys, images)):
            return None
        budget = {"budget_images": int(max(images)), "source": f"max over seeds of {name}",
                  "per_seed": dict(zip(keys, images)), "seeds": list(study.seeds)}
    atomic_write_json(path, budget)
    return int(budget["budget_images"])


def run_study(study: Study, study_dir: str, launcher: Callable[[object, str], int] = subprocess_launcher
              ) -> StudyStatus:
    """Trains and evaluates every run of ``study`` in ``study_dir`` (resuming), then returns
    the status; failed runs are logged and left for the next invocation.

    ``launcher(job, log_path) -> exit status`` runs a :class:`TrainJob` or
    :class:`EvaluateJob` (default: a subprocess each; :func:`in_process_launcher` for tests).
    """
    os.makedirs(study_dir, exist_ok=True)
    status = StudyStatus(study_dir)
    count_stopped_attempts(status)
    runs = plan_runs(study, study_dir)
    study = dataclasses.replace(study, precision=study_precision(study.precision, study_dir,
                                                                 [run.run_dir for run in runs]))
    largest = {m.name: max(m.leaf_runs) for m in study.methods if m.kind == "rpu_vae"}
    alone: set[str] = set()  # runs whose train_group job failed: they train alone
    for number, run in enumerate(runs, 1):
        entry = status.get(run.key)
        log = os.path.join(study_dir, "logs", run.key.replace("/", "_") + ".log")
        if entry.get("state") == "done":
            continue
        budget = measured_budget(study, study_dir, status) if run.method.budget_binding else None
        if run.method.budget_binding and budget is None:
            logger.warning("Study: %s waits for the budget (the rPU-VAE runs did not all finish).", run.key)
            continue
        if run.leaf_runs is not None and run.leaf_runs != largest[run.method.name]:
            source = [r for r in runs if r.method is run.method and r.seed == run.seed
                      and r.leaf_runs == largest[run.method.name]][0]
            if status.get(source.key).get("state") != "done":
                logger.warning("Study: %s waits for %s, whose stages it reuses.", run.key, source.key)
                continue
            share_stages(source.run_dir, run.run_dir, run.leaf_runs)
        logger.info("Study %s: run %d/%d: %s.", study.name, number, len(runs), run.key)
        start = time.time()
        status.update(run.key, **{ATTEMPT: {"started": start, "log": log, "share": 1.0}})
        if is_trained(run.run_dir):
            code = 0
        elif run.method.train_group and run.key not in alone:
            code, start = _train_together(study, run, runs, status, budget, launcher, log, start)
            if code != 0:  # one bad member must not block the others: each trains alone
                alone.update(r.key for r in runs if r.method.train_group == run.method.train_group)
                logger.warning("Study: the %s job failed (exit status %d); its runs train alone.",
                               run.method.train_group, code)
                code = launcher(train_job(study, run, budget), log)
        else:
            code = launcher(train_job(study, run, budget), log)
        if code == 0 and not is_evaluated(study, run.run_dir):
            code = launcher(evaluate_job(study, run.run_dir), log)
        wall = float(status.get(run.key).get("wall_seconds", 0.0)) + time.time() - start
        if code != 0:
            status.update(run.key, state="failed", wall_seconds=wall, error=f"exit status {code}; see {log}",
                          **{ATTEMPT: None})
            logger.error("Study: %s failed (exit status %d); see %s. The study goes on.", run.key, code, log)
            continue
        try:
            images = training_images(run.run_dir)
        except (OSError, ValueError, KeyError) as error:
            status.update(run.key, state="failed", wall_seconds=wall, error=f"cannot count its images: {error}",
                          **{ATTEMPT: None})
            logger.error("Study: %s: cannot count its training images (%s). The study goes on.", run.key, error)
            continue
        if budget is not None and images < budget:
            logger.warning("Study: %s trained on %d images, less than the budget of %d (it stopped early).",
                           run.key, images, budget)
        status.update(run.key, state="done", wall_seconds=wall, training_images=images,
                      method=run.name, label=run.label, seed=run.seed, run_dir=run.run_dir,
                      leaf_runs=run.leaf_runs, **{ATTEMPT: None})
        logger.info("Study: %s done in %.0f s.", run.key, wall)
    return status


def _train_together(study: Study, run: Run, runs: list[Run], status: StudyStatus, budget: Optional[int],
                    launcher: Callable[[object, str], int], log: str, start: float) -> tuple[int, float]:
    """Trains ``run`` with the untrained runs of its ``train_group`` and seed in one job; returns
    its exit status and when ``run``'s own time starts counting again. Each run is charged an
    even share of the job's time in ``status.json`` at once (so an interruption loses none);
    a failed job's time is all ``run``'s, who then trains alone."""
    mates = [r for r in runs if r.method.train_group == run.method.train_group and r.seed == run.seed
             and status.get(r.key).get("state") != "done" and not is_trained(r.run_dir)]
    logger.info("Study: %s trains together with %s.", run.key, ", ".join(r.key for r in mates if r is not run) or "none")
    for mate in mates:
        status.update(mate.key, **{ATTEMPT: {"started": start, "log": log, "share": 1.0 / len(mates)}})
    jobs = tuple(train_job(study, r, budget) for r in mates)  # stopped mates resume from their checkpoint
    code = launcher(TrainTogetherJob(jobs), log)
    end = time.time()
    for mate in mates:
        if code == 0:
            status.update(mate.key, wall_seconds=float(status.get(mate.key).get("wall_seconds", 0.0))
                          + (end - start) / len(mates), **{ATTEMPT: None})
        elif mate is not run:
            status.update(mate.key, **{ATTEMPT: None})
    if code == 0:
        status.update(run.key, **{ATTEMPT: {"started": end, "log": log, "share": 1.0}})  # its evaluation
        return code, end
    status.update(run.key, **{ATTEMPT: {"started": start, "log": log, "share": 1.0}})
    return code, start

