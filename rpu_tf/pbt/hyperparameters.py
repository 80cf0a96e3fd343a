"""Hyperparameters that PBT draws, copies and perturbs.

Each :class:`Hyperparameter` has an initial distribution (a function of a
``numpy.random.RandomState``), bounds and an integer flag. The paper's code draws
(rPU-VAE, supplementary E):

- batch size uniformly from ``{8, 16, 32, ..., 1024}`` (powers of two);
- learning rate uniformly from 30 log-spaced values in ``[1e-5, 1]``;
- β uniformly from ``int(1.5**k)`` for 24 evenly spaced ``k`` in ``[1, 15]``, first value
  dropped: ``{1, 2, 3, 4, 5, 6, 8, 10, 13, ..., 437}``.

Explore multiplies every hyperparameter of a member that just copied another by a factor
drawn uniformly from ``perturb_factors`` (paper: 2, 1.2, 0.8, 0.5), clips it to its
bounds and rounds integers; with ``resample_probability`` it redraws from the initial
distribution instead.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Optional, Sequence

import gin
import numpy as np

#: The paper's perturbation factors.
PAPER_PERTURB_FACTORS = (2.0, 1.2, 0.8, 0.5)


@gin.configurable("batch_size_choices")
def batch_size_choices(low_exponent: int = 3, high_exponent: int = 10) -> list[int]:
    """Batch sizes ``2**low_exponent .. 2**high_exponent`` (paper: 8 .. 1024)."""
    if not 0 <= low_exponent <= high_exponent:
        raise ValueError(f"batch_size_choices needs 0 <= low_exponent <= high_exponent, got "
                         f"{low_exponent}, {high_exponent}.")
    return [2 ** k for k in range(low_exponent, high_exponent + 1)]


@gin.configurable("learning_rate_choices")
def learning_rate_choices(low: float = 1e-5, high: float = 1.0, num: int = 30) -> list[float]:
    """``num`` log-spaced learning rates in ``[low, high]`` (paper: 30 in [1e-5, 1])."""
    if not (0 < low <= high and num >= 1):
        raise ValueError(f"learning_rate_choices needs 0 < low <= high and num >= 1, got {low}, {high}, {num}.")
    return [float(v) for v in np.logspace(np.log10(low), np.log10(high), num)]


@gin.configurable("beta_choices")
def beta_choices(base: float = 1.5, low_exponent: float = 1.0, high_exponent: float = 15.0,
                 num: int = 24, drop_first: int = 1) -> list[float]:
    """``int(base**k)`` for ``num`` evenly spaced ``k``, first ``drop_first`` dropped.

    Paper: ``int(1.5**k)``, 24 values of k in [1, 15], first dropped: {1, 2, 3, ..., 437}.
    """
    ks = np.linspace(low_exponent, high_exponent, num)[drop_first:]
    if ks.size == 0 or low_exponent > high_exponent:
        raise ValueError(f"beta_choices gives no values for low_exponent={low_exponent}, "
                         f"high_exponent={high_exponent}, num={num}, drop_first={drop_first}.")
    return [float(int(base ** k)) for k in ks]


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


@gin.configurable("vae_hyperparameters")
def vae_hyperparameter_space(
    learning_rate_bounds: Sequence[float] = (1e-6, 1.0),
    beta_bounds: Sequence[float] = (1.0, 1000.0),
    batch_size_bounds: Sequence[int] = (8, 1024),
    beta_name: str = "beta",
    learning_rates: Optional[Sequence[float]] = None,
    betas: Optional[Sequence[float]] = None,
    batch_sizes: Optional[Sequence[int]] = None,
) -> HyperparameterSpace:
    """The paper's space: ``learning_rate``, ``beta`` (the regulariser weight) and ``batch_size``.

    Initial values default to the paper's choices (see the module docstring); bounds cap
    what explore may reach (batch size at most 1024 as in the paper).
    """
    return HyperparameterSpace([
        Hyperparameter("learning_rate", choice_init(learning_rates or learning_rate_choices()),
                       *learning_rate_bounds),
        Hyperparameter(beta_name, choice_init(betas or beta_choices()), *beta_bounds),
        Hyperparameter("batch_size", choice_init(batch_sizes or batch_size_choices()),
                       *batch_size_bounds, integer=True),
    ])
