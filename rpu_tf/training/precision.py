"""Which floating-point precision training runs in, chosen from what the machine has.

``training.precision`` (gin) is one of :data:`CHOICES`:

- ``"float32"``: everything in float32 (disentanglement_lib's behaviour).
- ``"mixed_bfloat16"``: the networks' hidden layers compute in bfloat16, their variables,
  the optimizer state, the Gaussian heads (codes), the decoder logits and every loss term stay
  float32 (see :mod:`rpu_tf.models.architectures`). No loss scaling is needed (bfloat16 has
  float32's exponent range).
- ``"mixed_float16"``: the same with float16 compute, with dynamic loss scaling
  (:class:`DynamicLossScale`) because float16 gradients underflow.
- ``"auto"``: ``mixed_bfloat16`` where the hardware computes bfloat16 natively, else
  ``float32``: a CPU whose ``/proc/cpuinfo`` flags list ``avx512_bf16`` or ``amx_bf16``, or
  GPUs that all have compute capability 8.0 or higher (Ampere and later). It never picks
  float16 (on GPUs without bfloat16 the loss scaling's skipped steps change what trains;
  ask for it explicitly).

Decided at run time, from the machine the process runs on: the same config trains in
bfloat16 on an AMD EPYC with ``avx512_bf16`` and in float32 on a CPU without it.
:func:`set_default_precision` sets what :class:`~rpu_tf.training.replica_group.ReplicaGroup`
uses when it is not told (the pipelines set it from gin before training; plain Python use
without it trains in float32).
"""

from __future__ import annotations

import functools
import logging
from typing import Optional

import tensorflow as tf

from rpu_tf.models.architectures import PRECISIONS

logger = logging.getLogger(__name__)

CHOICES = ("auto",) + PRECISIONS
#: CPU flags (``/proc/cpuinfo``) of native bfloat16 arithmetic.
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
_default_precision = "float32"
_logged_precision = None  # the last choice logged (set_default_precision logs each once)


@functools.lru_cache(maxsize=1)
def cpu_flags(cpuinfo_path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU feature flags of this machine (empty where ``/proc/cpuinfo`` is unreadable)."""
    try:
        with open(cpuinfo_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def gpu_compute_capabilities() -> list[tuple[int, int]]:
    """Compute capabilities of the visible GPUs (``(major, minor)``; ``(0, 0)`` if unknown)."""
    out = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu) or {}
        out.append(tuple(details.get("compute_capability") or (0, 0)))
    return out


def auto_precision(flags: Optional[frozenset[str]] = None,
                   gpu_capabilities: Optional[list[tuple[int, int]]] = None) -> tuple[str, str]:
    """``(precision, reason)`` that ``"auto"`` means on this machine (arguments: for tests)."""
    gpus = gpu_compute_capabilities() if gpu_capabilities is None else gpu_capabilities
    if gpus:
        if all(cc >= (8, 0) for cc in gpus):
            return "mixed_bfloat16", f"GPU compute capability {min(gpus)} >= 8.0 has bfloat16"
        return "float32", f"GPU compute capability {min(gpus)} < 8.0 has no fast bfloat16"
    flags = cpu_flags() if flags is None else flags
    found = [f for f in BF16_CPU_FLAGS if f in flags]
    if found:
        return "mixed_bfloat16", f"CPU has {', '.join(found)}"
    return "float32", f"CPU has none of {', '.join(BF16_CPU_FLAGS)}"


def resolve_precision(precision: str) -> str:
    """The concrete precision (one of :data:`PRECISIONS`) for a ``training.precision`` value."""
    if precision not in CHOICES:
        raise ValueError(f"Unknown training.precision {precision!r}; known: {', '.join(CHOICES)}.")
    if precision == "auto":
        return auto_precision()[0]
    return precision


def describe_precision(precision: str) -> str:
    """One line for the log: the concrete precision and, for ``auto``, why."""
    if precision == "auto":
        chosen, reason = auto_precision()
        return f"{chosen} (auto: {reason})"
    return resolve_precision(precision)


def set_default_precision(precision: str) -> str:
    """Sets (and returns) the precision replica groups use when not told; logs the choice."""
    global _default_precision, _logged_precision
    resolved = resolve_precision(precision)
    if precision == "auto" or resolved != "float32":
        description = describe_precision(precision)
        if description != _logged_precision:  # once per run, not per stage or group
            logger.info("Training precision: %s.", description)
            _logged_precision = description
    else:
        _logged_precision = None
    _default_precision = resolved
    return resolved


def default_precision() -> str:
    """The precision replica groups use when not told (``float32`` until set)."""
    return _default_precision


class PrecisionChangeError(FileExistsError):
    """A stopped run would continue in another precision than the one it trained in."""


def check_resume_precision(what: str, trained: Optional[str], current: str) -> None:
    """Raises :class:`PrecisionChangeError` when ``what`` (a stopped run, as the message names
    it) trained in precision ``trained`` and would continue in ``current`` (both concrete:
    :data:`PRECISIONS`; ``trained`` None: not recorded, nothing to check).

    A run keeps its precision over resumes. States load in any precision (warm starts, PBT
    exploit, export), so without this check ``training.precision = "auto"`` would continue a
    float32 run in bfloat16 on a machine that has it, and the run would be neither."""
    if trained is None or trained == current:
        return
    raise PrecisionChangeError(
        f"{what} trained in {trained} so far, and this process would continue it in {current} (what "
        f"training.precision gives on this machine; \"auto\" chooses from the machine). A resumed run keeps "
        f"its precision: bind training.precision = \"{trained}\" to continue it, or pass --overwrite to "
        "train it afresh.")


def needs_loss_scaling(precision: str) -> bool:
    """Whether gradients in ``precision`` need loss scaling (float16 only)."""
    return resolve_precision(precision) == "mixed_float16"


class DynamicLossScale:
    """Dynamic loss scaling for float16 (Micikevicius et al. 2018; Keras' defaults).

    The objective is multiplied by ``scale`` before differentiation and the gradients divided
    by it. A step whose gradients overflow is skipped and halves the scale; after
    ``growth_steps`` finite steps in a row the scale doubles. Both are ``tf.Variable`` s read
    and updated inside compiled steps.
    """

    def __init__(self, initial_scale: float = 2.0 ** 15, growth_steps: int = 2000):
        self.initial_scale = float(initial_scale)
        self.growth_steps = int(growth_steps)
        self.scale = tf.Variable(self.initial_scale, dtype=tf.float32, trainable=False,
                                 name="loss_scale")
        self.good_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="loss_scale_good_steps")

    def scale_loss(self, loss: tf.Tensor) -> tf.Tensor:
        return loss * self.scale

    def unscale(self, gradients: list) -> list:
        inverse = 1.0 / self.scale
        return [None if g is None else g * tf.cast(inverse, g.dtype) for g in gradients]

    def update(self, finite: tf.Tensor) -> None:
        """After a step: grow the scale after enough finite steps, halve it on overflow."""
        def grow():
            grown = self.good_steps + 1 >= self.growth_steps
            self.scale.assign(tf.where(grown, self.scale * 2.0, self.scale))
            self.good_steps.assign(tf.where(grown, tf.constant(0, tf.int64), self.good_steps + 1))
            return tf.constant(True)

        def shrink():
            self.scale.assign(tf.maximum(self.scale / 2.0, 1e-4))
            self.good_steps.assign(0)
            return tf.constant(True)

        tf.cond(finite, grow, shrink)
