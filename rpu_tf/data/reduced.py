"""Subsets of finite data sets: what one rPU-VAE metaEpoch trains on.

``ReducedData(base, indices, labels=None)`` is a ``GroundTruthData`` over the observations
``base[indices]``. It samples only inside the subset, keeps each kept observation's
ground-truth factors (so ground-truth metrics still run on it) and can carry surrogate
labels: a float array with one row per kept index, attached by the recursion.

Indices are positions in ``base``'s index; a ``ReducedData`` of a ``ReducedData`` is
allowed, and ``root_indices`` gives the positions in the original (root) data set.

Metrics that change some factors of sampled rows and re-render them (FactorVAE, BetaVAE)
may render factor combinations outside the subset: the base renders any valid factors.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from rpu_tf.data.ground_truth_data import FactorsOfBase, FiniteGroundTruthData, check_index_array


class ReducedData(FactorsOfBase, FiniteGroundTruthData):
    """The observations ``base[indices]`` of a finite data set, optionally with labels.

    Args:
      base: a finite data set (``FiniteGroundTruthData``), labelled or not.
      indices: distinct integer positions in ``base``'s index, at least one; their order is
        the order of this data set's own index (and of ``labels``' rows).
      labels: optional surrogate labels, float array ``(len(indices), L)`` (or
        ``(len(indices),)`` for one label), finite values.
    """

    def __init__(self, base: FiniteGroundTruthData, indices, labels=None):
        if not isinstance(base, FiniteGroundTruthData):
            raise ValueError(
                f"ReducedData needs a data set with a finite index (num_observations, "
                f"observations_from_indices); {type(base).__name__} has none."
            )
        idx = check_index_array(indices, base.num_observations, what="subset indices",
                                owner=f"ReducedData of {base.name}", allow_empty=False)
        if np.unique(idx).size != idx.size:
            raise ValueError(f"ReducedData of {base.name}: subset indices contain duplicates; "
                             "give each kept index once.")
        self.base = base
        self.indices = idx
        self._labels = None if labels is None else self._check_labels(labels)

    def _check_labels(self, labels) -> np.ndarray:
        lab = np.asarray(labels)
        if lab.ndim == 1:
            lab = lab[:, None]
        if lab.ndim != 2 or lab.shape[0] != self.indices.size:
            raise ValueError(
                f"{self.name}: labels must have one row per kept index, shape ({self.indices.size}, L); "
                f"got {np.shape(labels)}."
            )
        if not np.issubdtype(lab.dtype, np.number) or np.issubdtype(lab.dtype, np.complexfloating):
            raise ValueError(f"{self.name}: labels must be real numbers, got dtype {lab.dtype}.")
        lab = lab.astype(np.float64)
        if not np.all(np.isfinite(lab)):
            raise ValueError(f"{self.name}: labels contain NaN or Inf.")
        return lab

    # --- description ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        return f"reduced_{self.base.name}"

    @property
    def root(self) -> FiniteGroundTruthData:
        """The original data set below any chain of reductions."""
        return self.base.root if isinstance(self.base, ReducedData) else self.base

    @property
    def root_indices(self) -> np.ndarray:
        """Positions of the kept observations in :attr:`root`'s index, ``int64 (n,)``."""
        if isinstance(self.base, ReducedData):
            return self.base.root_indices[self.indices]
        return self.indices

    # --- GroundTruthData -----------------------------------------------------------------
    @property
    def observation_shape(self) -> list[int]:
        return self.base.observation_shape

    def sample_factors(self, num, random_state):
        """Factors of ``num`` kept observations drawn uniformly with replacement."""
        return self.base.index_to_factors(self.indices[self.sample_indices(num, random_state)])

    def sample_observations_from_factors(self, factors, random_state):
        return self.base.sample_observations_from_factors(factors, random_state)

    def sample_observations(self, num, random_state):
        """``num`` kept observations drawn uniformly with replacement."""
        return self._observations_from_valid_indices(self.sample_indices(num, random_state), random_state)

    # --- finite index ----------------------------------------------------------------------
    @property
    def num_observations(self) -> int:
        return int(self.indices.size)

    def index_to_factors(self, indices):
        return self.base.index_to_factors(self.indices[self.check_indices(indices)])

    def factors_to_index(self, factors):
        """Positions in this subset of the observations with ``factors``; error if not kept."""
        base_idx = self.base.factors_to_index(factors)
        order = np.argsort(self.indices)
        pos = np.searchsorted(self.indices, base_idx, sorter=order)
        pos = np.minimum(pos, self.indices.size - 1)
        found = self.indices[order[pos]] == base_idx
        if not found.all():
            raise ValueError(f"{self.name}: {int((~found).sum())} of the given factor rows are not in the subset.")
        return order[pos].astype(np.int64)

    def _observations_from_valid_indices(self, indices, random_state):
        return self.base.observations_from_indices(self.indices[indices], random_state)

    # --- surrogate labels ------------------------------------------------------------------
    @property
    def labels(self) -> Optional[np.ndarray]:
        """Surrogate labels, ``float64 (num_observations, L)``, or None."""
        return self._labels

    @property
    def num_labels(self) -> int:
        return 0 if self._labels is None else int(self._labels.shape[1])

    def with_labels(self, labels) -> "ReducedData":
        """The same subset carrying ``labels`` (one row per kept index)."""
        return ReducedData(self.base, self.indices, labels)

    def labels_from_indices(self, indices) -> np.ndarray:
        """Surrogate labels of the kept observations at ``indices`` (this subset's index)."""
        if self._labels is None:
            raise ValueError(f"{self.name} carries no surrogate labels; attach them with with_labels().")
        return self._labels[self.check_indices(indices)]

    def sample_labelled(self, num, random_state):
        """``(labels, observations)`` of ``num`` kept observations, uniform with replacement."""
        if self._labels is None:
            raise ValueError(f"{self.name} carries no surrogate labels; attach them with with_labels().")
        pos = self.sample_indices(num, random_state)
        return self._labels[pos], self._observations_from_valid_indices(pos, random_state)
