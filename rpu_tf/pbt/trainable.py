"""What PBT drives: a :class:`Trainable` and the member step it runs.

PBT knows nothing about VAEs. A *member* is an id, hyperparameters and a state; a
*trainable* is a worker object that can take on any member's state, train it for a while
and score it. One trainable serves many members in turn (its model is built and its train
step traced once), so a population of hundreds of models needs one trainable per worker.

A member step (:func:`run_member_step`) is deterministic given its :class:`MemberTask`:
the start state (or an initial seed), the hyperparameters, the number of steps and the
generation's seed. That is what makes resume, local and distributed execution give the
same generation logs.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from typing import Any, Mapping, Optional, Protocol, Sequence, runtime_checkable

import numpy as np

logger = logging.getLogger(__name__)

#: A member's state: named numpy arrays (weights, optimizer slots, counters).
State = dict


@runtime_checkable
class Trainable(Protocol):
    """A worker that can hold, train and score any member's state."""

    def initialize(self, seed: int, hyperparameters: Mapping[str, float]) -> None:
        """Fresh weights and optimizer state for a new member, from ``seed``."""

    def get_state(self) -> State:
        """The current member's full state (weights and optimizer state) as numpy arrays."""

    def set_state(self, state: State) -> None:
        """Takes on a member's state (what exploit copies)."""

    def set_hyperparameters(self, hyperparameters: Mapping[str, float]) -> None:
        """Changes hyperparameters without losing state."""

    def train(self, num_steps: int, seed: int) -> Mapping[str, float]:
        """Trains ``num_steps`` steps with data and noise drawn from ``seed``; returns metrics.

        Raises ``FloatingPointError`` (or a subclass) when the loss becomes NaN/Inf: the
        member is then marked failed, ranked last and replaced by exploit.
        """

    def score(self, seed: int) -> tuple[float, Mapping[str, Any]]:
        """The member's score (higher is better) and JSON-able details.

        A trainable may also have ``take_curve() -> [(step, {name: value}), ...]``: the
        training curve of its last ``train`` (steps counted from that training's start),
        handed to the controller's ``on_member_step`` (TensorBoard), never stored in the run.
        """


@runtime_checkable
class JointTrainable(Trainable, Protocol):
    """A trainable that can also train with others of its kind in one step (optional).

    ``train_together(trainables, num_steps, seeds)`` trains each trainable (``self`` among
    them) ``num_steps`` steps from its own seed, exactly as its own ``train`` would, and
    returns per trainable its metrics or the ``FloatingPointError`` its ``train`` would have
    raised (:func:`run_member_steps_together`).
    """

    def train_together(self, trainables: Sequence["JointTrainable"], num_steps: int,
                       seeds: Sequence[int]) -> list:
        """Per trainable: metrics, or the ``FloatingPointError`` of its failed training."""


@dataclasses.dataclass
class MemberTask:
    """One member's work in one generation."""

    member_id: int
    generation: int
    hyperparameters: dict
    num_steps: int
    seed: int
    init_seed: Optional[int] = None  # set for new members (start_state is None)
    start_state: Optional[State] = None


@dataclasses.dataclass
class MemberResult:
    """What a member step produced."""

    member_id: int
    generation: int
    state: Optional[State]
    score: float
    details: dict
    metrics: dict
    failed: Optional[str]
    wall_time: float
    num_steps: int
    curve: list = dataclasses.field(default_factory=list)  # the trainable's take_curve(), if it has one


def run_member_step(trainable: Trainable, task: MemberTask) -> MemberResult:
    """Runs one member step on ``trainable``: load or initialise, train, score."""
    start = time.perf_counter()
    _take_on(trainable, task)
    try:
        trained: Any = trainable.train(task.num_steps, task.seed)
    except FloatingPointError as error:
        trained = error
    return _finish(trainable, task, trained, start)


def run_member_steps_together(trainables: Sequence[JointTrainable], tasks: Sequence[MemberTask]) -> list[MemberResult]:
    """Runs the member steps of ``tasks`` (one per trainable, the same number of steps) with
    their training in one joint step (:class:`JointTrainable`); each result is the one
    :func:`run_member_step` would give. Their wall time is the joint time, shared evenly."""
    if len({task.num_steps for task in tasks}) != 1 or len(tasks) != len(trainables):
        raise ValueError("Members trained together need one trainable each and the same number of steps.")
    start = time.perf_counter()
    for trainable, task in zip(trainables, tasks):
        _take_on(trainable, task)
    trained = trainables[0].train_together(trainables, tasks[0].num_steps, [task.seed for task in tasks])
    results = [_finish(trainable, task, outcome, start) for trainable, task, outcome in zip(trainables, tasks, trained)]
    share = (time.perf_counter() - start) / len(tasks)
    return [dataclasses.replace(result, wall_time=share) for result in results]


def _take_on(trainable: Trainable, task: MemberTask) -> None:
    """Loads (or initialises) the task's member on ``trainable`` with its hyperparameters."""
    if task.start_state is None:
        if task.init_seed is None:
            raise ValueError(f"member {task.member_id}: a task needs a start state or an init seed.")
        trainable.initialize(task.init_seed, task.hyperparameters)
    else:
        trainable.set_state(task.start_state)
    trainable.set_hyperparameters(task.hyperparameters)


def _finish(trainable: Trainable, task: MemberTask, trained: Any, start: float) -> MemberResult:
    """Scores a trained member (``trained``: its metrics, or the ``FloatingPointError`` its
    training raised) and collects its result."""
    failed: Optional[str] = None
    metrics: dict = {}
    score, details = float("nan"), {}
    try:
        if isinstance(trained, BaseException):
            raise trained
        metrics = {k: float(v) for k, v in dict(trained).items()}
        score, details = trainable.score(task.seed)
        score = float(score)
        if not math.isfinite(score):
            failed = f"score is {score}"
    except FloatingPointError as e:
        failed = f"{type(e).__name__}: {e}"
    if failed:
        logger.warning("PBT member %d failed in generation %d (%s); it ranks last and will be "
                       "replaced by exploit.", task.member_id, task.generation, failed)
    state = None if failed else trainable.get_state()
    take_curve = getattr(trainable, "take_curve", None)
    return MemberResult(
        member_id=task.member_id, generation=task.generation, state=state,
        score=score if not failed else float("nan"), details=_jsonable(details), metrics=metrics,
        failed=failed, wall_time=time.perf_counter() - start, num_steps=task.num_steps,
        curve=list(take_curve()) if callable(take_curve) else [],
    )


def _jsonable(value):
    """Converts numpy scalars/arrays inside dicts and lists to plain Python for JSON."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
