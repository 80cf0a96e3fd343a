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

from rpu_tf.pbt.trainable import (JointTrainable, MemberResult, MemberTask, State, Trainable, run_member_step,
                                  run_member_steps_together)

LoadState = Callable[[MemberTask], Optional[State]]


class Executor:
    """Runs member steps; subclasses decide where."""

    def run(self, tasks: Sequence[MemberTask], load_state: LoadState) -> Iterator[MemberResult]:
        raise NotImplementedError()

    def close(self) -> None:
        """Releases workers (no-op by default)."""


@gin.configurable("local_executor", allowlist=["members_together"])
class LocalExecutor(Executor):
    """Runs member steps in this process on reused trainables: one after another (the
    paper's PBT), or up to ``members_together`` at a time in one joint step.

    Args:
      trainable_factory: builds a trainable (once per slot, on first use).
      members_together: how many members of a generation may train in one joint step
        (:class:`~rpu_tf.pbt.trainable.JointTrainable`); members go together when they train
        the same number of steps at the same batch size, and each gets the result it would
        get alone (within float rounding). 1 (default): one after another, as the paper.
        Trainables without ``train_together`` always train one after another.
    """

    def __init__(self, trainable_factory: Callable[[], Trainable], members_together: int = 1):
        if int(members_together) != members_together or members_together < 1:
            raise ValueError(f"local_executor.members_together must be a positive integer, got {members_together!r}.")
        self._factory = trainable_factory
        self._trainables: list[Trainable] = []
        self.members_together = int(members_together)

    def _slots(self, count: int) -> list[Trainable]:
        while len(self._trainables) < count:
            self._trainables.append(self._factory())
        return self._trainables[:count]

    def run(self, tasks, load_state):
        slots = self._slots(1)
        together = self.members_together > 1 and isinstance(slots[0], JointTrainable)
        for chunk in (_chunks(tasks, self.members_together) if together else [[t] for t in tasks]):
            slots = self._slots(len(chunk))
            try:
                for task in chunk:
                    task.start_state = load_state(task)
                if len(chunk) == 1:
                    yield run_member_step(slots[0], chunk[0])
                else:
                    yield from run_member_steps_together(slots, chunk)
            finally:
                for task in chunk:
                    task.start_state = None

    def close(self) -> None:
        self._trainables = []


def _chunks(tasks: Sequence[MemberTask], size: int) -> Iterator[list[MemberTask]]:
    """Tasks in groups of at most ``size`` that train alike (same steps and batch size), in
    the order of each group's first task."""
    groups: dict[tuple, list[MemberTask]] = {}
    for task in tasks:
        key = (task.num_steps, task.hyperparameters.get("batch_size"))
        groups.setdefault(key, []).append(task)
    for group in groups.values():
        for start in range(0, len(group), size):
            yield group[start:start + size]
