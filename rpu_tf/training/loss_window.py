"""Means of the per-replica loss terms over the steps since the last look (log lines,
TensorBoard curves)."""

from __future__ import annotations

from typing import Mapping

import numpy as np


class LossWindow:
    """Adds each step's ``{term: (K,) array}`` and hands out their means per replica."""

    def __init__(self):
        self._sums: dict[str, np.ndarray] = {}
        self.steps = 0

    def add(self, values: Mapping[str, np.ndarray]) -> None:
        for key, value in values.items():
            self._sums[key] = self._sums.get(key, 0.0) + value
        self.steps += 1

    def take(self) -> tuple[dict[str, np.ndarray], int]:
        """``({term: (K,) mean over the window}, window length in steps)``; starts a new window."""
        means = {key: np.asarray(value) / max(self.steps, 1) for key, value in self._sums.items()}
        steps, self._sums, self.steps = self.steps, {}, 0
        return means, steps


class StepCurve:
    """An ``on_window`` callback (``ReplicaGroup.train``, ``JointTrainer.train``) that keeps
    each window's loss terms, averaged over the replicas, at its step counted from
    ``start_step``: :attr:`points` is ``[(steps since start_step, {term: mean}), ...]``."""

    def __init__(self, start_step: int):
        self.start_step = int(start_step)
        self.points: list[tuple[int, dict[str, float]]] = []

    def __call__(self, step: int, means: Mapping[str, np.ndarray]) -> None:
        self.points.append((int(step) - self.start_step, {k: float(np.mean(v)) for k, v in means.items()}))
