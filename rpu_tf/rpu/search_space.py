"""The VAE hyperparameter search space of PBT-U-VAE and PBT-S-VAE (paper, supplementary E).

The paper's code draws:

- batch size uniformly from ``{8, 16, 32, ..., 1024}`` (powers of two);
- learning rate uniformly from 30 log-spaced values in ``[1e-5, 1]``;
- β uniformly from ``int(1.5**k)`` for 24 evenly spaced ``k`` in ``[1, 15]``, first value
  dropped: ``{1, 2, 3, 4, 5, 6, 8, 10, 13, ..., 437}``.
"""

from __future__ import annotations

from typing import Optional, Sequence

import gin
import numpy as np

from rpu_tf.pbt.hyperparameters import Hyperparameter, HyperparameterSpace, choice_init


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
    what explore may reach (batch size at most 1024 as in the paper). An initial value outside
    its bounds is an error (it is not clipped).
    """
    return HyperparameterSpace([
        Hyperparameter("learning_rate", choice_init(_within(
            "learning rate", learning_rates or learning_rate_choices(), learning_rate_bounds,
            "vae_hyperparameters.learning_rates / learning_rate_choices.*", "learning_rate_bounds")),
            *learning_rate_bounds),
        Hyperparameter(beta_name, choice_init(_within(
            beta_name, betas or beta_choices(), beta_bounds, "vae_hyperparameters.betas / beta_choices.*",
            "beta_bounds")), *beta_bounds),
        Hyperparameter("batch_size", choice_init(_within(
            "batch size", batch_sizes or batch_size_choices(), batch_size_bounds,
            "vae_hyperparameters.batch_sizes / batch_size_choices.*", "batch_size_bounds")),
            *batch_size_bounds, integer=True),
    ])


def _within(what: str, values: Sequence[float], bounds: Sequence[float], setting: str, bound_name: str) -> list:
    """``values`` if all lie in ``bounds``; else a ``ValueError`` naming the settings to change."""
    low, high = (float(b) for b in bounds)
    outside = [v for v in values if not low <= float(v) <= high]
    if outside:
        raise ValueError(f"Initial {what} choices {outside} lie outside the bounds [{low:g}, {high:g}] "
                         f"(vae_hyperparameters.{bound_name}); change {setting} or the bounds.")
    return list(values)
