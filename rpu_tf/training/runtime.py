"""Runtime settings of training (gin scope ``training``): threads, XLA, fused Adam, progress.

Defaults suit any machine: TensorFlow picks thread counts from the available cores
(``None``), runs on a GPU when one is visible, and XLA is off (measured slower on CPU for
these models; enable it with ``training.jit_compile = True`` to try it on a GPU).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Optional

import gin
import tensorflow as tf

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RuntimeOptions:
    """How training runs (not what it computes).

    Attributes:
      intra_op_threads: threads inside one op (``None``: TensorFlow's default, all cores).
      inter_op_threads: ops run concurrently, e.g. the replicas of a group (``None``: default).
      jit_compile: compile train steps with XLA.
      fused_optimizer: fused Adam kernel per variable (same arithmetic as Keras' Adam).
      progress: show a progress bar while training.
    """

    intra_op_threads: Optional[int] = None
    inter_op_threads: Optional[int] = None
    jit_compile: bool = False
    fused_optimizer: bool = True
    progress: bool = True


@gin.configurable("training")
def runtime_options(intra_op_threads: Optional[int] = None,
                    inter_op_threads: Optional[int] = None, jit_compile: bool = False,
                    fused_optimizer: bool = True, progress: bool = True) -> RuntimeOptions:
    """Reads ``training.*`` from gin into :class:`RuntimeOptions`."""
    for name, value in (("intra_op_threads", intra_op_threads),
                        ("inter_op_threads", inter_op_threads)):
        if value is not None and int(value) < 0:
            raise ValueError(f"training.{name} must be >= 0 or None, got {value}.")
    return RuntimeOptions(intra_op_threads, inter_op_threads, bool(jit_compile),
                          bool(fused_optimizer), bool(progress))


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
            logger.warning("training.%s=%s ignored: TensorFlow's runtime is already initialised "
                           "with %d (set it before any TensorFlow op runs).", name, value, getter())


def describe_devices() -> str:
    """A one-line description of the devices TensorFlow will use."""
    gpus = tf.config.list_physical_devices("GPU")
    threads = (f"intra_op={tf.config.threading.get_intra_op_parallelism_threads() or 'auto'}, "
               f"inter_op={tf.config.threading.get_inter_op_parallelism_threads() or 'auto'}")
    if gpus:
        return f"{len(gpus)} GPU(s) ({', '.join(g.name for g in gpus)}); CPU threads {threads}"
    return f"CPU only; threads {threads}"
