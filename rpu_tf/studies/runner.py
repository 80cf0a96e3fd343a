"""Runs a study: every (method, seed) as an ordinary, resumable ``rpu_train`` run directory,
then the same evaluation of each (``rpu_evaluate``), then the report.

Layout of ``STUDY_DIR``::

    status.json                  per run: state, wall seconds, training images, error, and
                                 while it trains or is evaluated, the attempt in progress
    budget.json                  the budget of training images the baselines got
    precision.json               the precision every run trains in (rpu_tf.studies.study_precision)
    runs/<method>/seed<k>/       rpu_train run directories (evaluated in place)
    logs/<method>_seed<k>.log    each run's and evaluation's output
    selection.json               UDR model selection: the chosen model per seed

Each run is a subprocess (``python -m rpu_tf.cli.train``; then ``rpu_tf.cli.evaluate``), so a
crash or a memory leak of one run does not take the others with it (runs of one
``train_group`` and seed train in one ``rpu_tf.cli.train_together`` process, each is then
evaluated alone; the group's training time is split evenly among them in ``status.json``); a
failed run is recorded, the study goes on, and the next invocation retries it. Re-running the study skips what is done and resumes what is
not (rPU-VAE and PBT runs resume from their last checkpoint, single models from theirs). The
time of an attempt that a killed invocation left unfinished still counts in its runs' wall
seconds: up to the last write to its log, found by the next invocation.

The runs are grouped into units of work (:mod:`rpu_tf.studies.work`): one run, or the runs of
one ``train_group`` and seed. ``study.executor = "local"`` does them one after another in
this process's order; ``"ray"`` submits every unit that is ready as a Ray task holding its
method's CPUs and GPU fraction, as many at once as the cluster holds
(:mod:`rpu_tf.studies.ray_runs`). Either way the driver alone writes ``status.json``; a unit
is ready when the budget it needs is known and the rPU-VAE stages it reuses are done.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import Optional

from rpu_tf.studies.jobs import (EvaluateJob, SubprocessLauncher, TrainJob, TrainTogetherJob,  # noqa: F401 (API)
                                 in_process_launcher, subprocess_launcher)
from rpu_tf.layout.run_state import copy_stages, is_finished, training_images
from rpu_tf.studies.plan import Run, evaluate_job, is_evaluated, plan_runs, train_job  # noqa: F401 (API)
from rpu_tf.studies.study_precision import study_precision
from rpu_tf.studies.spec import Study, leaf_run_name, slug
from rpu_tf.studies.status import ATTEMPT, StudyStatus, count_stopped_attempts
from rpu_tf.studies.work import Launcher, LocalExecutor, Outcome, RunWork, WorkUnit
from rpu_tf.utils.files import atomic_write_json, read_json

logger = logging.getLogger(__name__)

BUDGET_FILE = "budget.json"


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


def run_study(study: Study, study_dir: str, launcher: Launcher = subprocess_launcher, executor=None
              ) -> StudyStatus:
    """Trains and evaluates every run of ``study`` in ``study_dir`` (resuming), then returns
    the status; failed runs are logged and left for the next invocation.

    ``launcher(job, log_path) -> exit status`` runs a :class:`TrainJob`,
    :class:`TrainTogetherJob` or :class:`EvaluateJob` (default: a subprocess each;
    :func:`in_process_launcher` for tests). ``executor``: where units run (default: from
    ``study.executor``; the local one uses ``launcher``, Ray tasks always start subprocesses).
    """
    os.makedirs(study_dir, exist_ok=True)
    status = StudyStatus(study_dir)
    count_stopped_attempts(status)
    runs = plan_runs(study, study_dir)
    study = dataclasses.replace(study, precision=study_precision(study.precision, study_dir,
                                                                 [run.run_dir for run in runs]))
    if executor is None:
        executor = LocalExecutor(launcher) if study.executor == "local" else _ray_executor(study)
    scheduler = _Scheduler(study, study_dir, status, runs)
    try:
        while True:
            unit = scheduler.next_ready() if executor.has_room() else None
            if unit is not None:
                work, (cpus, gpus) = scheduler.start(unit)
                executor.submit(work, cpus, gpus)
            elif executor.busy():
                scheduler.record(executor.wait_any())
            else:
                break
    finally:
        executor.close()
    scheduler.log_blocked()
    return status


def _ray_executor(study: Study):
    from rpu_tf.studies.ray_runs import RayStudyExecutor  # Ray is the optional extra rpu_tf[ray]

    return RayStudyExecutor(address=study.ray_address)


class _Scheduler:
    """Which units are left, which is ready next, and what their outcomes mean for ``status.json``."""

    def __init__(self, study: Study, study_dir: str, status: StudyStatus, runs: list[Run]):
        self.study, self.study_dir, self.status, self.runs = study, study_dir, status, runs
        self.largest = {m.name: max(m.leaf_runs) for m in study.methods if m.kind == "rpu_vae"}
        self.by_key = {run.key: run for run in runs}
        units: dict = {}  # in plan order: a run alone, or a train group's runs of one seed
        for run in runs:
            if status.get(run.key).get("state") != "done":
                key = (run.method.train_group, run.seed) if run.method.train_group else run.key
                units.setdefault(key, []).append(run)
        self.pending: list[tuple[Run, ...]] = [tuple(unit) for unit in units.values()]
        self.started = 0

    def _source(self, run: Run) -> Optional[Run]:
        """The run whose stages an rPU-VAE run reuses: its method's largest variant of the
        same seed (for a variant with fewer leaf-runs), or its ``stages_from`` method's."""
        if run.leaf_runs is None:
            return None
        donor = self.study.stage_donor(run.method)
        if donor is run.method and run.leaf_runs == self.largest[donor.name]:
            return None
        return next(r for r in self.runs if r.method is donor and r.seed == run.seed
                    and r.leaf_runs == self.largest[donor.name])

    def _waits_for(self, unit: tuple[Run, ...]) -> str:
        """Why ``unit`` cannot start yet ("" when it can)."""
        first = unit[0]
        if first.method.budget_binding and measured_budget(self.study, self.study_dir, self.status) is None:
            return "the budget (the rPU-VAE runs did not all finish)"
        source = self._source(first)
        if source is not None and self.status.get(source.key).get("state") != "done":
            return f"{source.key}, whose stages it reuses"
        return ""

    def next_ready(self) -> Optional[tuple[Run, ...]]:
        return next((unit for unit in self.pending if not self._waits_for(unit)), None)

    def start(self, unit: tuple[Run, ...]) -> tuple[WorkUnit, tuple[float, Optional[float]]]:
        """Takes ``unit`` off the list, readies its directories, records its attempt and
        returns its work with the resources it asks for."""
        self.pending.remove(unit)
        self.started += 1
        budget = measured_budget(self.study, self.study_dir, self.status) if unit[0].method.budget_binding else None
        source = self._source(unit[0])
        if source is not None:
            copy_stages(source.run_dir, unit[0].run_dir, unit[0].leaf_runs)
        work = []
        for run in unit:
            log = os.path.join(self.study_dir, "logs", run.key.replace("/", "_") + ".log")
            trained = is_finished(run.run_dir)
            evaluated = trained and is_evaluated(self.study, run.run_dir)
            work.append(RunWork(run.key, log, None if trained else train_job(self.study, run, budget),
                                None if evaluated else evaluate_job(self.study, run.run_dir)))
        logger.info("Study %s: unit %d: %s%s.", self.study.name, self.started, ", ".join(r.key for r in unit),
                    f" ({len(self.pending)} more to start)" if self.pending else "")
        now = time.time()
        for run in unit:  # the whole unit's time, split evenly, counts if this invocation is killed
            self.status.update(run.key, **{ATTEMPT: {"started": now, "log": work[0].log, "share": 1.0 / len(unit)}})
        cpus = max(m.cpus for m in {r.method for r in unit})
        gpus = [r.method.gpus for r in unit if r.method.gpus is not None]
        return WorkUnit(tuple(work), together=bool(unit[0].method.train_group)), (cpus, max(gpus) if gpus else None)

    def record(self, outcomes: list[Outcome]) -> None:
        """Writes each run's outcome into ``status.json`` (failed, or done with its images)."""
        for outcome in outcomes:
            run = self.by_key[outcome.key]
            wall = float(self.status.get(run.key).get("wall_seconds", 0.0)) + outcome.seconds
            if outcome.code != 0:
                self.status.update(run.key, state="failed", wall_seconds=wall, error=outcome.error, **{ATTEMPT: None})
                logger.error("Study: %s failed (%s). The study goes on.", run.key, outcome.error)
                continue
            try:
                images = training_images(run.run_dir)
            except (OSError, ValueError, KeyError) as error:
                self.status.update(run.key, state="failed", wall_seconds=wall,
                                   error=f"cannot count its images: {error}", **{ATTEMPT: None})
                logger.error("Study: %s: cannot count its training images (%s). The study goes on.", run.key, error)
                continue
            budget = measured_budget(self.study, self.study_dir, self.status) if run.method.budget_binding else None
            if budget is not None and images < budget:
                logger.warning("Study: %s trained on %d images, less than the budget of %d (it stopped early).",
                               run.key, images, budget)
            self.status.update(run.key, state="done", wall_seconds=wall, training_images=images,
                               method=run.name, label=run.label, seed=run.seed, run_dir=run.run_dir,
                               leaf_runs=run.leaf_runs, **{ATTEMPT: None})
            logger.info("Study: %s done in %.0f s.", run.key, wall)

    def log_blocked(self) -> None:
        for unit in self.pending:
            logger.warning("Study: %s waits for %s.", ", ".join(r.key for r in unit), self._waits_for(unit) or
                           "a unit that failed")
