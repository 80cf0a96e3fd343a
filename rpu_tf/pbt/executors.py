"""Executors run a generation's member steps: the base class and the in-process one.

Ray actors: :mod:`rpu_tf.pbt.ray_executor`; by name: :mod:`rpu_tf.pbt.executor_registry`.

An executor takes :class:`~rpu_tf.pbt.trainable.MemberTask` objects and yields
:class:`~rpu_tf.pbt.trainable.MemberResult` objects as they finish (in any order). Start
states are loaded just in time through the controller's ``load_state`` callback, so at
most one member's state per worker is in memory.
"""

from __future__ import annotations

from typing import Callable, Iterator, Optional, Sequence

import gin

from rpu_tf.pbt.trainable import MemberResult, MemberTask, State, Trainable, run_member_step

LoadState = Callable[[MemberTask], Optional[State]]


class Executor:
    """Runs member steps; subclasses decide where."""

    def run(self, tasks: Sequence[MemberTask], load_state: LoadState) -> Iterator[MemberResult]:
        raise NotImplementedError()

    def close(self) -> None:
        """Releases workers (no-op by default)."""


@gin.configurable("local_executor")
class LocalExecutor(Executor):
    """Runs member steps one after another in this process on one reused trainable.

    Args:
      trainable_factory: builds the trainable (once, on first use).
    """

    def __init__(self, trainable_factory: Callable[[], Trainable] = gin.REQUIRED):
        self._factory = trainable_factory
        self._trainable: Optional[Trainable] = None

    def run(self, tasks, load_state):
        if self._trainable is None:
            self._trainable = self._factory()
        for task in tasks:
            task.start_state = load_state(task)
            try:
                yield run_member_step(self._trainable, task)
            finally:
                task.start_state = None

    def close(self) -> None:
        self._trainable = None
