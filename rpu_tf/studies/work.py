"""A unit of a study's work and how it is done: one run, or the runs of one ``train_group``
and seed, trained (together in one job, each alone if that job fails) and then each
evaluated. A unit holds only jobs and paths, so it runs the same in this process or in a Ray
task on another node (the study directory is on storage both see)."""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Callable, Optional

from rpu_tf.studies.jobs import EvaluateJob, TrainJob, TrainTogetherJob

logger = logging.getLogger(__name__)

Launcher = Callable[[object, str], int]


@dataclasses.dataclass(frozen=True)
class RunWork:
    """What one run still needs: its training job (None: trained) and its evaluation (None:
    evaluated); its output goes to ``log``."""

    key: str
    log: str
    train: Optional[TrainJob]
    evaluate: Optional[EvaluateJob]


@dataclasses.dataclass(frozen=True)
class WorkUnit:
    """Runs done as one unit; ``together``: their training jobs first run as one
    ``rpu_train_together`` job (output in the first run's log)."""

    runs: tuple[RunWork, ...]
    together: bool = False


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a run of a unit ended: exit status 0 or the failed job's, and the seconds it took
    (its even share of a joint training job, plus its own jobs)."""

    key: str
    code: int
    seconds: float
    error: str = ""


def execute(unit: WorkUnit, launcher: Launcher) -> list[Outcome]:
    """Does ``unit`` with ``launcher(job, log) -> exit status``; one outcome per run, in order."""
    seconds = {run.key: 0.0 for run in unit.runs}
    to_train = [run for run in unit.runs if run.train is not None]
    if unit.together and to_train:
        start = time.time()
        code = launcher(TrainTogetherJob(tuple(run.train for run in to_train)), unit.runs[0].log)
        spent = time.time() - start
        if code == 0:
            for run in to_train:
                seconds[run.key] += spent / len(to_train)
            to_train = []
        else:  # one bad member must not block the others: each trains alone; the time is the first's
            seconds[unit.runs[0].key] += spent
            logger.warning("Study: the joint training job of %s failed (exit status %d); each trains alone.",
                           ", ".join(run.key for run in to_train), code)
    outcomes = []
    for run in unit.runs:
        start = time.time()
        code = launcher(run.train, run.log) if run in to_train else 0
        if code == 0 and run.evaluate is not None:
            code = launcher(run.evaluate, run.log)
        seconds[run.key] += time.time() - start
        outcomes.append(Outcome(run.key, code, seconds[run.key], f"exit status {code}; see {run.log}" if code else ""))
    return outcomes


class LocalExecutor:
    """Does each unit at once, in this process's order (one job at a time)."""

    def __init__(self, launcher: Launcher):
        self.launcher = launcher
        self._done: list[list[Outcome]] = []

    def has_room(self) -> bool:
        return not self._done

    def busy(self) -> bool:
        return bool(self._done)

    def submit(self, unit: WorkUnit, num_cpus: float, num_gpus: Optional[float]) -> None:
        self._done.append(execute(unit, self.launcher))

    def wait_any(self) -> list[Outcome]:
        return self._done.pop(0)

    def close(self) -> None:
        pass
