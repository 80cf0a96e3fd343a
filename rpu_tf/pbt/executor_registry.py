"""Executors by name (``pbt_vae.executor``): ``"local"`` or ``"ray"``."""

from __future__ import annotations

from typing import Callable

from rpu_tf.pbt.executors import Executor, LocalExecutor
from rpu_tf.pbt.ray_executor import RayExecutor  # imports Ray only when it starts actors
from rpu_tf.pbt.trainable import Trainable

EXECUTORS: dict[str, type] = {"local": LocalExecutor, "ray": RayExecutor}


def make_executor(kind: str, trainable_factory: Callable[[], Trainable], **kwargs) -> Executor:
    """The executor ``kind`` (``"ray"`` needs the optional ``rpu_tf[ray]`` extra)."""
    if kind not in EXECUTORS:
        raise ValueError(f"unknown PBT executor {kind!r}; known: {', '.join(repr(k) for k in EXECUTORS)}.")
    return EXECUTORS[kind](trainable_factory, **kwargs)
