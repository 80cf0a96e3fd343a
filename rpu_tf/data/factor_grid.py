"""Finite factor grids: the state space of dSprites-like data sets.

A grid data set holds one observation for every combination of its factors, stored in
row-major (C) order: the last factor varies fastest. Some factors of a file can be left
out of the ground truth (``latent_factor_indices``); disentanglement_lib then samples them
at random when rendering, and so do we, in the same order.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from rpu_tf.data.ground_truth_data import (
    FiniteGroundTruthData,
    check_factor_array,
)


class FactorGrid:
    """Row-major index over a grid of ``factor_sizes`` with a subset of latent factors.

    Sampling follows disentanglement_lib's ``SplitDiscreteStateSpace``: one
    ``random_state.randint(size, size=num)`` per latent factor column, in factor order,
    then one per non-latent factor when completing factors for rendering. (``randint`` on
    a factor of size 1 draws no random numbers.)
    """

    def __init__(self, factor_sizes: Sequence[int], latent_factor_indices: Optional[Sequence[int]] = None):
        sizes = [int(s) for s in factor_sizes]
        if not sizes or min(sizes) < 1:
            raise ValueError(f"factor_sizes must be a non-empty list of positive ints, got {factor_sizes}.")
        self.factor_sizes = sizes
        if latent_factor_indices is None:
            latent_factor_indices = list(range(len(sizes)))
        latent = [int(i) for i in latent_factor_indices]
        if len(set(latent)) != len(latent) or any(i < 0 or i >= len(sizes) for i in latent):
            raise ValueError(
                f"latent_factor_indices must be distinct indices into {len(sizes)} factors, got {latent}."
            )
        self.latent_factor_indices = latent
        self.observation_factor_indices = [i for i in range(len(sizes)) if i not in latent]
        # Strides of the row-major layout, as int64 (disentanglement_lib uses floats).
        self.factor_bases = np.array(
            [int(np.prod(sizes[i + 1:], dtype=np.int64)) for i in range(len(sizes))], dtype=np.int64
        )
        self.num_points = int(np.prod(sizes, dtype=np.int64))

    @property
    def latent_sizes(self) -> list[int]:
        return [self.factor_sizes[i] for i in self.latent_factor_indices]

    def sample_latent_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        factors = np.zeros((num, len(self.latent_factor_indices)), dtype=np.int64)
        for pos, i in enumerate(self.latent_factor_indices):
            factors[:, pos] = random_state.randint(self.factor_sizes[i], size=num)
        return factors

    def sample_all_factors(self, latent_factors: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
        num = latent_factors.shape[0]
        all_factors = np.zeros((num, len(self.factor_sizes)), dtype=np.int64)
        all_factors[:, self.latent_factor_indices] = latent_factors
        for i in self.observation_factor_indices:
            all_factors[:, i] = random_state.randint(self.factor_sizes[i], size=num)
        return all_factors

    def all_factors_to_index(self, all_factors: np.ndarray) -> np.ndarray:
        return all_factors.astype(np.int64, copy=False) @ self.factor_bases

    def index_to_all_factors(self, indices: np.ndarray) -> np.ndarray:
        return np.stack(np.unravel_index(indices, self.factor_sizes), axis=1).astype(np.int64)


class FactorGridData(FiniteGroundTruthData):
    """Base class of grid data sets: sampling and indexing, rendering left to subclasses.

    Subclasses implement :meth:`_observations_from_all_factors` (full factor rows, all
    factors of the grid including non-latent ones) and ``observation_shape``.
    """

    def __init__(self, factor_sizes: Sequence[int], latent_factor_indices: Optional[Sequence[int]] = None):
        self.grid = FactorGrid(factor_sizes, latent_factor_indices)

    # --- GroundTruthData -------------------------------------------------------------
    @property
    def num_factors(self) -> int:
        return len(self.grid.latent_factor_indices)

    @property
    def factors_num_values(self) -> list[int]:
        return self.grid.latent_sizes

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        return self.grid.sample_latent_factors(num, random_state)

    def sample_observations_from_factors(self, factors, random_state: np.random.RandomState) -> np.ndarray:
        factors = check_factor_array(factors, self.factors_num_values, owner=self.name)
        all_factors = self.grid.sample_all_factors(factors, random_state)
        return self._observations_from_all_factors(all_factors, random_state)

    # --- finite index ----------------------------------------------------------------
    @property
    def num_observations(self) -> int:
        return self.grid.num_points

    def index_to_factors(self, indices) -> np.ndarray:
        idx = self.check_indices(indices)
        return self.grid.index_to_all_factors(idx)[:, self.grid.latent_factor_indices]

    def factors_to_index(self, factors) -> np.ndarray:
        factors = check_factor_array(factors, self.factors_num_values, owner=self.name)
        hidden = [i for i in self.grid.observation_factor_indices if self.grid.factor_sizes[i] > 1]
        if hidden:
            raise ValueError(
                f"{self.name}: factors {hidden} of the grid are not ground-truth factors and take "
                "several values, so latent factors alone do not name one observation."
            )
        all_factors = np.zeros((factors.shape[0], len(self.grid.factor_sizes)), dtype=np.int64)
        all_factors[:, self.grid.latent_factor_indices] = factors
        return self.grid.all_factors_to_index(all_factors)

    def _observations_from_valid_indices(self, indices, random_state):
        return self._observations_from_all_factors(self.grid.index_to_all_factors(indices), random_state)

    def _observations_from_all_factors(self, all_factors: np.ndarray, random_state) -> np.ndarray:
        raise NotImplementedError()
