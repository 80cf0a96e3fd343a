"""Hyperparameters that PBT draws, copies and perturbs (the space itself comes from the caller).

Each :class:`Hyperparameter` has an initial distribution (a function of a
``numpy.random.RandomState``), bounds and an integer flag. The VAE space of the paper is
:mod:`rpu_tf.rpu.search_space`.

Explore multiplies every hyperparameter of a member that just copied another by a factor
drawn uniformly from ``perturb_factors`` (paper: 2, 1.2, 0.8, 0.5), clips it to its
bounds and rounds integers; with ``resample_probability`` it redraws from the initial
distribution instead.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Sequence

import numpy as np

#: The paper's perturbation factors.
PAPER_PERTURB_FACTORS = (2.0, 1.2, 0.8, 0.5)


def choice_init(values: Sequence[float]) -> Callable[[np.random.RandomState], float]:
    """An initial distribution: uniform over ``values`` (one ``randint`` draw)."""
    vals = list(values)
    if not vals:
        raise ValueError("an initial distribution needs at least one value.")

    def draw(random_state: np.random.RandomState) -> float:
        return vals[random_state.randint(len(vals))]

    return draw


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter PBT controls.

    Attributes:
      name: key in the member's hyperparameter dict (e.g. ``learning_rate``).
      init: draws an initial value from a ``RandomState``.
      low, high: bounds that explore clips to (inclusive).
      integer: values are rounded to integers (batch size).
    """

    name: str
    init: Callable[[np.random.RandomState], float]
    low: float
    high: float
    integer: bool = False

    def __post_init__(self):
        if self.init is None or not callable(self.init):
            raise ValueError(f"hyperparameter {self.name!r} needs an init function (a distribution).")
        if self.low is None or self.high is None or not np.isfinite([self.low, self.high]).all():
            raise ValueError(f"hyperparameter {self.name!r} needs finite bounds (low, high).")
        if not self.low <= self.high:
            raise ValueError(f"hyperparameter {self.name!r}: low={self.low} > high={self.high}.")

    def clip(self, value: float):
        value = float(np.clip(value, self.low, self.high))
        return int(round(value)) if self.integer else value

    def describe(self) -> dict:
        return {"low": self.low, "high": self.high, "integer": self.integer}


class HyperparameterSpace:
    """The hyperparameters of a population with their distributions and bounds."""

    def __init__(self, hyperparameters: Sequence[Hyperparameter]):
        names = [h.name for h in hyperparameters]
        if not names:
            raise ValueError("a hyperparameter space needs at least one hyperparameter.")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate hyperparameter names: {names}.")
        self.hyperparameters = list(hyperparameters)

    @property
    def names(self) -> list[str]:
        return [h.name for h in self.hyperparameters]

    def sample(self, random_state: np.random.RandomState) -> dict:
        """Initial values, one draw per hyperparameter in order, clipped to bounds."""
        return {h.name: h.clip(h.init(random_state)) for h in self.hyperparameters}

    def perturb(self, values: Mapping[str, float], random_state: np.random.RandomState,
                perturb_factors: Sequence[float] = PAPER_PERTURB_FACTORS,
                resample_probability: float = 0.0) -> dict:
        """Explore: each value times a factor from ``perturb_factors`` (or redrawn), in bounds."""
        if len(perturb_factors) == 0:
            raise ValueError("perturb_factors is empty; give factors like (2, 1.2, 0.8, 0.5).")
        out = {}
        for h in self.hyperparameters:
            if h.name not in values:
                raise ValueError(f"member has no value for hyperparameter {h.name!r}.")
            if resample_probability > 0 and random_state.rand() < resample_probability:
                new = h.init(random_state)
            else:
                new = values[h.name] * perturb_factors[random_state.randint(len(perturb_factors))]
            out[h.name] = h.clip(new)
        return out

    def describe(self) -> dict:
        return {h.name: h.describe() for h in self.hyperparameters}
