"""Runtime settings of training (gin scope ``training``): threads, precision, XLA, progress.

Defaults suit any machine: without a GPU, thread pools follow :func:`auto_threads` for the
number of models trained per step (``None``; with a GPU, TensorFlow's defaults), a GPU is
used when one is visible, the precision is ``"auto"`` (bfloat16 compute where the CPU or GPU
has it, else float32; :mod:`rpu_tf.training.precision`; force float32 with
``training.precision = "float32"``), and XLA is off (measured slower on CPU for these
models; enable it with ``training.jit_compile = True`` to try it on a GPU).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from typing import Iterator, Optional

import gin
import tensorflow as tf

from rpu_tf.training import model_batching as model_batching_choices
from rpu_tf.training import precision as precisions

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RuntimeOptions:
    """How training runs (not what it computes).

    Attributes:
      intra_op_threads: threads inside one op (``None``: :func:`auto_threads`).
      inter_op_threads: ops run concurrently, e.g. the replicas of a group (``None``: auto).
      jit_compile: compile train steps with XLA.
      progress: show a progress bar while training.
      precision: ``"auto"``, ``"float32"``, ``"mixed_bfloat16"`` or ``"mixed_float16"``
        (:mod:`rpu_tf.training.precision`).
      model_batching: ``"auto"``, ``"batched"`` or ``"replicas"``: the models of a group as
        one batched network or as K sub-graphs (:mod:`rpu_tf.training.model_batching`).
    """

    intra_op_threads: Optional[int] = None
    inter_op_threads: Optional[int] = None
    jit_compile: bool = False
    progress: bool = True
    precision: str = "auto"
    model_batching: str = "auto"


@gin.configurable("training")
def runtime_options(intra_op_threads: Optional[int] = None,
                    inter_op_threads: Optional[int] = None, jit_compile: bool = False,
                    progress: bool = True,
                    precision: str = "auto", model_batching: str = "auto") -> RuntimeOptions:
    """Reads ``training.*`` from gin into :class:`RuntimeOptions`."""
    for name, value in (("intra_op_threads", intra_op_threads),
                        ("inter_op_threads", inter_op_threads)):
        if value is not None and int(value) < 0:
            raise ValueError(f"training.{name} must be >= 0 or None, got {value}.")
    if precision not in precisions.CHOICES:
        raise ValueError(f"Unknown training.precision {precision!r}; known: {', '.join(precisions.CHOICES)}.")
    return RuntimeOptions(intra_op_threads, inter_op_threads, bool(jit_compile),
                          bool(progress), precision, model_batching_choices.check_model_batching(model_batching))


def configure(num_replicas: int, options: RuntimeOptions) -> str:
    """Applies ``options`` before training: thread pools (:func:`configure_threads_for`), the
    default precision and model batching of replica groups; returns the concrete precision."""
    configure_threads_for(num_replicas, options.intra_op_threads, options.inter_op_threads)
    model_batching_choices.set_default_model_batching(options.model_batching)
    return precisions.set_default_precision(options.precision)


@contextlib.contextmanager
def defaults_kept() -> Iterator[None]:
    """Restores on exit the process defaults :func:`configure` sets (precision, model
    batching), so a run's choice does not outlive it."""
    saved = precisions.default_precision(), model_batching_choices.default_model_batching()
    try:
        yield
    finally:
        precisions.set_default_precision(saved[0])
        model_batching_choices.set_default_model_batching(saved[1])


#: The cores a process may use when it shares its machine (set by a study's Ray tasks for the
#: training processes they start); unset: all of the machine's.
NUM_CPUS_ENV = "RPU_NUM_CPUS"  # also rpu_tf.studies.jobs.NUM_CPUS_ENV


def process_cpu_count() -> int:
    """The cores this process may use: ``$RPU_NUM_CPUS`` if set, else the machine's."""
    value = os.environ.get(NUM_CPUS_ENV, "")
    try:
        return max(1, int(value)) if value else max(1, os.cpu_count() or 1)
    except ValueError:
        raise ValueError(f"${NUM_CPUS_ENV} must be a whole number of cores, got {value!r}.") from None


def auto_threads(num_replicas: int, cpu_count: Optional[int] = None) -> tuple[int, int]:
    """CPU thread pools ``(intra_op, inter_op)`` for training ``num_replicas`` models per step.

    One model: all cores inside each op and two ops at a time (``(cores, 2)``; its graph is
    mostly a chain with some independent branches). K replicas: the K independent sub-graphs
    run concurrently, ``inter = min(K, cores)``, each op with ``cores // inter`` threads.
    Measured on 2 cores (beta_tc_vae, batch 64): one model (2, 2) 1362 images/s vs (2, 1)
    1103 and (1, 2) 945 on an idle machine; five replicas (1, 2) and (2, 2) within noise of
    each other when idle, (1, 2) about twice as fast while other processes load the cores
    (AMD EPYC); on an Intel Xeon with AMX, 2 members x 3 replicas (32 x 32, bfloat16) 5,821
    images/s at (1, 2) against 3,905 at (2, 2) (``benchmarks/members_together.py``). PBT and
    rPU-VAE runs size the pools for their members' replicas (``rpu_tf.pipelines.pbt_vae.models_per_step``).
    """
    cores = max(1, int(cpu_count or process_cpu_count()))
    if int(num_replicas) <= 1:
        return cores, min(2, cores)
    inter = min(int(num_replicas), cores)
    return max(1, cores // inter), inter


def configure_threads_for(num_replicas: int, intra_op_threads: Optional[int] = None,
                          inter_op_threads: Optional[int] = None,
                          cpu_count: Optional[int] = None) -> tuple[int, int]:
    """Sets the thread pools, filling ``None`` with :func:`auto_threads` when no GPU is visible.

    ``cpu_count``: the cores this process may use (None: all of the machine's; a Ray actor
    passes the CPUs it holds). With a GPU, ``None`` keeps TensorFlow's defaults. Returns the
    settings in effect.
    """
    if not tf.config.list_physical_devices("GPU"):
        auto_intra, auto_inter = auto_threads(num_replicas, cpu_count)
        intra_op_threads = auto_intra if intra_op_threads is None else intra_op_threads
        inter_op_threads = auto_inter if inter_op_threads is None else inter_op_threads
    configure_threads(intra_op_threads, inter_op_threads)
    return (tf.config.threading.get_intra_op_parallelism_threads(),
            tf.config.threading.get_inter_op_parallelism_threads())


def configure_threads(intra_op_threads: Optional[int], inter_op_threads: Optional[int]) -> None:
    """Sets TensorFlow's thread pools; must run before TensorFlow executes its first op.

    Once TensorFlow's runtime is initialised the pools are fixed: a different request is
    then logged as a warning and ignored (the process keeps its current settings).
    """
    for name, value, getter, setter in (
            ("intra_op_threads", intra_op_threads,
             tf.config.threading.get_intra_op_parallelism_threads,
             tf.config.threading.set_intra_op_parallelism_threads),
            ("inter_op_threads", inter_op_threads,
             tf.config.threading.get_inter_op_parallelism_threads,
             tf.config.threading.set_inter_op_parallelism_threads)):
        if value is None or int(value) == getter():
            continue
        try:
            setter(int(value))
        except RuntimeError:
            current = getter() or "TensorFlow's default"
            logger.warning("training.%s=%s ignored: TensorFlow's runtime is already running with "
                           "%s (set it before any TensorFlow op runs).", name, value, current)


def configure_worker_process(num_replicas: int, num_cpus: float, num_gpus: float,
                             intra_op_threads: Optional[int] = None,
                             inter_op_threads: Optional[int] = None) -> str:
    """Readies a worker process (a Ray actor) that holds ``num_cpus`` CPUs and ``num_gpus``
    GPUs (fractions allowed) to train groups of ``num_replicas`` models; returns a one-line
    description of what it set.

    Thread pools follow :func:`auto_threads` for ``max(1, floor(num_cpus))`` cores unless
    given (``training.intra_op_threads`` / ``inter_op_threads`` of the driver), so actors
    sharing a machine do not oversubscribe its cores. Visible GPUs get memory growth
    instead of TensorFlow's grab-everything default, so members with fractional GPUs
    (``ray_executor.num_gpus_per_member = 0.25``) can share one device. Must run before
    TensorFlow executes its first op in the process.
    """
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # the device is initialised already: its settings stay
            logger.warning("GPU %s was initialised before the worker was configured; its memory "
                           "growth stays as it is.", gpu.name)
    intra, inter = configure_threads_for(num_replicas, intra_op_threads, inter_op_threads,
                                         cpu_count=max(1, int(num_cpus)))
    where = f"{len(gpus)} GPU(s) visible ({num_gpus:g} held)" if gpus else "no GPU"
    return (f"{num_cpus:g} CPU(s), {where}; threads intra_op={intra or 'auto'}, "
            f"inter_op={inter or 'auto'} for {num_replicas} replica(s)")


def describe_devices() -> str:
    """A one-line description of the devices TensorFlow will use."""
    gpus = tf.config.list_physical_devices("GPU")
    threads = (f"intra_op={tf.config.threading.get_intra_op_parallelism_threads() or 'auto'}, "
               f"inter_op={tf.config.threading.get_inter_op_parallelism_threads() or 'auto'}")
    if gpus:
        return f"{len(gpus)} GPU(s) ({', '.join(g.name for g in gpus)}); CPU threads {threads}"
    return f"CPU only; threads {threads}"
