"""Small data sets and representation functions for the metric tests and benchmark.

:class:`ToyGrid` is a finite grid whose observation is a cheap deterministic function of all
grid factors, including a nuisance factor that is not a ground-truth factor (so rendering
draws from the random state, as dSprites-like data sets do in disentanglement_lib), plus
optional uniform pixel noise (more draws). Representation functions read the factors back
from the observation and return disentangled, entangled, partly collapsed, constant or
noisy codes. Factories return a *fresh* function each call: noisy ones own a private
``RandomState``, so two runs that call them on the same batches see the same noise.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from rpu_tf.data.factor_grid import FactorGridData


class ToyGrid(FactorGridData):
    """Grid of ``factor_sizes``; observation = factor values scaled to [0, 1], float32 ``(K,)``."""

    def __init__(self, factor_sizes: Sequence[int] = (3, 4, 5, 2),
                 latent_factor_indices: Sequence[int] | None = (0, 1, 2), noise: float = 0.0):
        super().__init__(factor_sizes, latent_factor_indices)
        self.noise = float(noise)
        self._scale = 1.0 / np.maximum(np.asarray(factor_sizes, dtype=np.float64) - 1.0, 1.0)

    @property
    def observation_shape(self) -> list[int]:
        return [len(self.grid.factor_sizes)]

    def _observations_from_all_factors(self, all_factors: np.ndarray, random_state) -> np.ndarray:
        obs = all_factors * self._scale
        if self.noise:
            obs = obs * (1.0 - self.noise) + self.noise * random_state.uniform(size=obs.shape)
        return obs.astype(np.float32)


def _latent_values(grid: ToyGrid, observations: np.ndarray) -> np.ndarray:
    """Ground-truth latent factor values in [-1, 1] recovered from observations, ``(n, F)``."""
    return 2.0 * np.asarray(observations, dtype=np.float64)[:, grid.grid.latent_factor_indices] - 1.0


def disentangled(grid: ToyGrid) -> Callable[[np.ndarray], np.ndarray]:
    """One latent per factor (monotone, differently scaled) and one uninformative latent."""
    def fn(x):
        v = _latent_values(grid, x)
        z = np.tanh(v * np.linspace(1.0, 2.0, v.shape[1])) * np.arange(1, v.shape[1] + 1)
        return np.concatenate([z, 0.1 * np.sin(7.0 * v.sum(axis=1, keepdims=True))], axis=1)
    return fn


def entangled(grid: ToyGrid, seed: int = 3) -> Callable[[np.ndarray], np.ndarray]:
    """Every latent mixes every factor (random dense matrix)."""
    mix = np.random.RandomState(seed).randn(grid.num_factors, grid.num_factors + 1)
    def fn(x):
        return np.tanh(_latent_values(grid, x) @ mix)
    return fn


def partly_collapsed(grid: ToyGrid) -> Callable[[np.ndarray], np.ndarray]:
    """First factor, two constant latents, a blend of the other factors."""
    def fn(x):
        v = _latent_values(grid, x)
        zeros = np.zeros((v.shape[0], 2))
        blend = 0.5 * v[:, 1:2] + 0.3 * v[:, -1:]
        return np.concatenate([v[:, :1], zeros, blend], axis=1)
    return fn


def constant(grid: ToyGrid, width: int = 4) -> Callable[[np.ndarray], np.ndarray]:
    """Every latent is 0."""
    def fn(x):
        return np.zeros((np.shape(x)[0], width))
    return fn


def noisy(grid: ToyGrid, seed: int = 11, scale: float = 0.3) -> Callable[[np.ndarray], np.ndarray]:
    """Disentangled codes plus Gaussian noise from a private random state."""
    rng = np.random.RandomState(seed)
    base = disentangled(grid)
    def fn(x):
        z = base(x)
        return z + scale * rng.randn(*z.shape)
    return fn


REPRESENTATIONS = {
    "disentangled": disentangled,
    "entangled": entangled,
    "partly_collapsed": partly_collapsed,
    "constant": constant,
    "noisy": noisy,
}


def with_kl(fn: Callable[[np.ndarray], np.ndarray], kl: Sequence[float]):
    """UDR representation function: ``fn``'s codes and a fixed per-latent KL vector."""
    kl = np.asarray(kl, dtype=np.float64)
    def udr_fn(x):
        return fn(x), kl
    return udr_fn
