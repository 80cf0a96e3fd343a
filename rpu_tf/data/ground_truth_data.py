"""Ground-truth data sets with disentanglement_lib's interface.

:class:`GroundTruthData` has the properties and methods of disentanglement_lib's
``ground_truth_data.GroundTruthData``, so our data sets run inside its published metric
code unchanged. :class:`FiniteGroundTruthData` adds the finite index the rPU-VAE recursion
needs to encode a whole data set (``num_observations``, ``observations_from_indices`` and,
where the data has factors, ``index_to_factors`` / ``factors_to_index``).

Conventions everywhere in ``rpu_tf.data``:
- observations are ``float32`` in [0, 1], channels last, shape ``(num,) + observation_shape``;
- factors are ``int64`` class indices, shape ``(num, num_factors)``;
- ``random_state`` is a ``numpy.random.RandomState``.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np


class UnlabelledDataError(ValueError):
    """Raised when code asks an unlabelled data set for ground-truth factors."""


class GroundTruthData:
    """Abstract data set that is a two-step generative model: factors, then observations."""

    @property
    def num_factors(self) -> int:
        raise NotImplementedError()

    @property
    def factors_num_values(self) -> list[int]:
        raise NotImplementedError()

    @property
    def observation_shape(self) -> list[int]:
        raise NotImplementedError()

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Samples a batch of factors Y, ``int64`` of shape ``(num, num_factors)``."""
        raise NotImplementedError()

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Samples a batch of observations X given factors Y, ``float32`` in [0, 1]."""
        raise NotImplementedError()

    def sample(self, num: int, random_state: np.random.RandomState):
        """Samples a batch of factors Y and observations X: ``(factors, observations)``."""
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def sample_observations(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Samples a batch of observations X."""
        return self.sample(num, random_state)[1]

    @property
    def name(self) -> str:
        """Short name used in logs and result files."""
        return type(self).__name__


class FiniteGroundTruthData(GroundTruthData):
    """A data set with a finite index ``0 .. num_observations - 1`` of observations.

    Subclasses implement ``num_observations`` and ``_observations_from_valid_indices``;
    labelled ones also ``index_to_factors`` and ``factors_to_index``.
    """

    @property
    def num_observations(self) -> int:
        raise NotImplementedError()

    @property
    def is_labelled(self) -> bool:
        """Whether the data set has ground-truth factors (``num_factors > 0``)."""
        return self.num_factors > 0

    def index_to_factors(self, indices) -> np.ndarray:
        """Ground-truth factors of the observations at ``indices``, ``(n, num_factors)``."""
        raise NotImplementedError()

    def factors_to_index(self, factors) -> np.ndarray:
        """Index of the observation with the given factors, ``int64`` of shape ``(n,)``."""
        raise NotImplementedError()

    def observations_from_indices(
        self, indices, random_state: Optional[np.random.RandomState] = None
    ) -> np.ndarray:
        """Observations at ``indices`` (any integer array-like), ``float32`` in [0, 1].

        ``random_state`` is only used by stochastic data sets (colour and noise variants);
        deterministic ones ignore it.
        """
        idx = self.check_indices(indices)
        return self._observations_from_valid_indices(idx, random_state)

    def _observations_from_valid_indices(
        self, indices: np.ndarray, random_state: Optional[np.random.RandomState]
    ) -> np.ndarray:
        raise NotImplementedError()

    def sample_indices(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Draws ``num`` indices uniformly with replacement (one ``randint`` call)."""
        return random_state.randint(self.num_observations, size=num).astype(np.int64)

    def check_indices(self, indices, what: str = "indices") -> np.ndarray:
        """Returns ``indices`` as a 1-D ``int64`` array or raises a clear ``ValueError``."""
        return check_index_array(indices, self.num_observations, what=what, owner=self.name)


def check_index_array(indices, size: int, what: str = "indices", owner: str = "data set",
                      allow_empty: bool = True) -> np.ndarray:
    """Validates an index array against ``range(size)``; returns it as 1-D ``int64``."""
    arr = np.asarray(indices)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{owner}: {what} must be a 1-D array of integers, got shape {arr.shape}.")
    if arr.size == 0:
        if not allow_empty:
            raise ValueError(f"{owner}: {what} is empty; give at least one index.")
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"{owner}: {what} must be integers, got dtype {arr.dtype}.")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= size:
        raise ValueError(
            f"{owner}: {what} out of range: got values in [{lo}, {hi}], "
            f"valid indices are 0 .. {size - 1}."
        )
    return arr.astype(np.int64, copy=False)


def check_factor_array(factors, factor_sizes: Sequence[int], owner: str = "data set") -> np.ndarray:
    """Validates a ``(n, len(factor_sizes))`` array of factor classes; returns ``int64``."""
    arr = np.asarray(factors)
    k = len(factor_sizes)
    if arr.ndim == 1 and k > 0 and arr.shape[0] == k:
        arr = arr.reshape(1, k)
    if arr.ndim != 2 or arr.shape[1] != k:
        raise ValueError(
            f"{owner}: factors must have shape (num, {k}), got {arr.shape}."
        )
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"{owner}: factors must be integer class indices, got {arr.dtype}.")
    arr = arr.astype(np.int64, copy=False)
    if arr.size:
        sizes = np.asarray(factor_sizes, dtype=np.int64)
        bad = (arr < 0) | (arr >= sizes[None, :])
        if bad.any():
            col = int(np.argwhere(bad)[0][1])
            raise ValueError(
                f"{owner}: factor {col} out of range: values must be in 0 .. {sizes[col] - 1}, "
                f"got {arr[bad.any(axis=1)][0].tolist()}."
            )
    return arr


class FactorsOfBase:
    """Mixin of data sets built on another one (``self.base``): the base's factors are theirs."""

    base: GroundTruthData

    @property
    def num_factors(self) -> int:
        return self.base.num_factors

    @property
    def factors_num_values(self) -> list[int]:
        return self.base.factors_num_values
