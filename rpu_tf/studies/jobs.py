"""What a study runs, and how: the ``rpu_train`` / ``rpu_train_together`` / ``rpu_evaluate``
invocations of its runs (:class:`TrainJob`, :class:`TrainTogetherJob`, :class:`EvaluateJob`)
and the launchers that run one (a subprocess each, or in this process for tests)."""

from __future__ import annotations

import ctypes
import dataclasses
import os
import signal
import subprocess
import sys
from typing import Optional

#: The cores a training process may use (:data:`rpu_tf.training.runtime.NUM_CPUS_ENV`; named
#: here so that a Ray task loads no TensorFlow to start its jobs).
NUM_CPUS_ENV = "RPU_NUM_CPUS"


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
    """An ``rpu_evaluate`` invocation (the study's representations, replacing earlier results)."""

    model_dir: str
    metrics: tuple[str, ...]
    representations: tuple[str, ...] = ("mean",)

    def argv(self) -> list[str]:
        return ([f"--model_dir={self.model_dir}", f"--representations={','.join(self.representations)}", "--overwrite"]
                + [f"--gin_config={m}" for m in self.metrics])


def _die_with_parent() -> None:
    """In the child, before it runs: Linux kills it when the process that started it dies (a
    killed study driver or Ray worker leaves no orphan training into its run directory)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (AttributeError, OSError):  # not Linux: the child outlives a killed parent
        pass


@dataclasses.dataclass(frozen=True)
class SubprocessLauncher:
    """Runs a job as ``python -m rpu_tf.cli.{train,train_together,evaluate}``, output appended
    to the log; returns its exit status (a crash of the job is a non-zero status, not an
    exception). The child dies with its parent (Linux) and imports this ``rpu_tf``.

    Attributes:
      num_cpus: the CPUs the job holds (a Ray task's share of a node); its thread pools are
        sized for them (``RPU_NUM_CPUS``) instead of the whole machine. None: the machine's.
      shares_gpu: the job holds part of a GPU: TensorFlow allocates its memory as it needs it
        (``TF_FORCE_GPU_ALLOW_GROWTH``) so the jobs sharing the device all fit.
    """

    num_cpus: Optional[float] = None
    shares_gpu: bool = False

    def __call__(self, job, log_path: str) -> int:
        module = {TrainJob: "rpu_tf.cli.train", TrainTogetherJob: "rpu_tf.cli.train_together"}.get(
            type(job), "rpu_tf.cli.evaluate")
        # -P: the working folder is not on the child's import path, so no gin.py (or other module)
        # in the folder the study runs from is imported; Python 3.10 has no -P: runpy without it.
        command = ([sys.executable, "-P", "-m", module] if sys.version_info >= (3, 11) else [
            sys.executable, "-c", f"import runpy, sys; sys.path.pop(0); "
                                  f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"]) + job.argv()
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        # no empty entry: Python reads one as the working folder
        entries = [package_root] + os.environ.get("PYTHONPATH", "").split(os.pathsep)
        python_path = os.pathsep.join(dict.fromkeys(p for p in entries if p))
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
               "PYTHONPATH": python_path}  # the children import this rpu_tf, installed or not
        if self.num_cpus is not None:
            env[NUM_CPUS_ENV] = str(max(1, int(self.num_cpus)))
        if self.shares_gpu:
            env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"\n$ {' '.join(command)}\n")
            log.flush()
            return subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   preexec_fn=_die_with_parent)


subprocess_launcher = SubprocessLauncher()


def in_process_launcher(job, log_path: str) -> int:
    """Runs ``job`` in this process (tests, debugging): 0, or 1 with the error in ``log_path``."""
    from rpu_tf import registry
    from rpu_tf.evaluation.pipeline import evaluate_model
    from rpu_tf.pipelines.choice import run_pipeline
    from rpu_tf.pipelines.train_together import train_together_with_gin

    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    try:
        if isinstance(job, TrainJob):
            run_pipeline(job.model_dir, job.configs, job.bindings, job.overwrite)
        elif isinstance(job, TrainTogetherJob):
            registry.register_gin_configurables()
            train_together_with_gin([j.model_dir for j in job.jobs], job.overwrite, list(job.jobs[0].configs),
                                    [list(j.bindings) for j in job.jobs])
        else:
            evaluate_model(job.model_dir, list(job.metrics), representations=job.representations, overwrite=True)
    except Exception as error:  # noqa: BLE001 -- a failed run is recorded, the study goes on
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"{type(error).__name__}: {error}\n")
        return 1
    return 0
