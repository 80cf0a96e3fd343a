"""A cheap PBT member (not a VAE) for the controller's tests.

State: parameters ``w`` (4,), a momentum ``m`` (4,) standing in for optimizer state, and a
step counter. Training moves ``w`` towards a target that depends on ``beta`` with a step
that depends on ``learning_rate`` and ``batch_size``, plus seeded noise; a learning rate
above ``diverge_above`` raises ``FloatingPointError`` like a NaN loss. Score: ``-|w - 1|``.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from rpu_tf.pbt import (
    Hyperparameter,
    HyperparameterSpace,
    LocalExecutor,
    PopulationBasedTraining,
    StoppingRule,
    choice_init,
)


class ToyTrainable:
    def __init__(self, diverge_above: float = 0.9):
        self.diverge_above = diverge_above
        self.w = self.m = None
        self.steps = 0
        self.h = {}

    def initialize(self, seed, hyperparameters):
        rs = np.random.RandomState(seed)
        self.w = rs.normal(size=4)
        self.m = np.zeros(4)
        self.steps = 0

    def get_state(self):
        return {"params": {"w": self.w.copy()}, "opt": {"m": self.m.copy(), "steps": np.array(self.steps)}}

    def set_state(self, state):
        self.w = np.array(state["params"]["w"], dtype=np.float64)
        self.m = np.array(state["opt"]["m"], dtype=np.float64)
        self.steps = int(state["opt"]["steps"])

    def set_hyperparameters(self, hyperparameters):
        self.h = dict(hyperparameters)

    def train(self, num_steps, seed):
        if self.h["learning_rate"] > self.diverge_above:
            raise FloatingPointError(f"loss is NaN at step {self.steps}")
        rs = np.random.RandomState(seed)
        target = 1.0 + 0.1 * np.log(self.h["beta"])
        for _ in range(num_steps):
            grad = (self.w - target) * min(self.h["batch_size"], 64) / 64 + 0.05 * rs.normal(size=4)
            self.m = 0.5 * self.m + grad
            self.w = self.w - self.h["learning_rate"] * self.m
            self.steps += 1
        return {"loss": float(np.sum((self.w - target) ** 2))}

    def score(self, seed):
        return -float(np.abs(self.w - 1.0).sum()), {"distance": float(np.abs(self.w - 1.0).sum())}


def toy_space(lrs=(0.01, 0.03, 0.1, 0.3, 0.95)):
    return HyperparameterSpace([
        Hyperparameter("learning_rate", choice_init(lrs), 1e-4, 0.95),
        Hyperparameter("beta", choice_init([1.0, 2.0, 4.0]), 1.0, 16.0),
        Hyperparameter("batch_size", choice_init([8, 16, 32, 64]), 8, 1024, integer=True),
    ])


def make_pbt(run_dir, executor=None, **kwargs):
    defaults = dict(population_size=6, cutoff=0.2, generation_budget=5, seed=3,
                    stopping=StoppingRule(max_generations=6, convergence_window=3, convergence_tolerance=1e-9))
    defaults.update(kwargs)
    executor = executor or LocalExecutor(ToyTrainable)
    return PopulationBasedTraining(run_dir, executor, toy_space(), fingerprint={"toy": 1}, **defaults)


def kill_at(kind: str, count: int) -> None:
    """Makes this process die (``os._exit(137)``, like SIGKILL: no cleanup) at its ``count``-th
    member step (``kind="train"``) or its ``count``-th atomic file replace, after the temp
    file is complete and before the rename (``kind="write"``)."""
    calls = [0]

    def tick():
        calls[0] += 1
        if calls[0] == count:
            os._exit(137)

    if kind == "train":
        train = ToyTrainable.train
        ToyTrainable.train = lambda self, *a: (tick(), train(self, *a))[1]
    elif kind == "write":
        import rpu_tf.utils.files as files

        replace = files.os.replace
        files.os.replace = lambda *a: (tick(), replace(*a))[1]
    else:
        raise ValueError(kind)


if __name__ == "__main__":  # the kill/resume test: python tests/helpers/pbt_toy.py RUN_DIR [train|write] COUNT
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    if len(sys.argv) > 2:
        kill_at(sys.argv[2], int(sys.argv[3]))
    make_pbt(sys.argv[1]).run()


class CrashOnceTrainable(ToyTrainable):
    """Kills its own process at its third member step, once (a marker file remembers)."""

    def __init__(self, marker: str, **kwargs):
        super().__init__(**kwargs)
        self.marker = marker
        self.calls = 0

    def train(self, num_steps, seed):
        self.calls += 1
        if self.calls == 3 and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)
        return super().train(num_steps, seed)
