"""MIG against partial surrogate labels: the score of the final rPU-VAE run.

rPU-VAE labels only parts of the data set. Every metaEpoch encodes its current (reduced) data
set with the best model and keeps the codes of its active latents as continuous *surrogate
labels* for exactly those observations; the data sets of successive metaEpochs of a leaf-run
are nested subsets, and different leaf-runs label different subsets.

Input: ``surrogate_labels`` is a list with one entry per leaf-run; each entry is a list of
*label blocks* ``(indices, labels)``, one per metaEpoch of that leaf-run:

- ``indices``: ``(n,)`` integer indices into ``ground_truth_data`` (a ``FiniteGroundTruthData``),
- ``labels``: ``(n, L)`` float surrogate labels of those observations (``(n,)`` for L = 1).

A block shared by several leaf-runs (the first metaEpoch's labels on the whole data set) may be
listed in each of them; blocks given as the *same* array objects are encoded and scored once.

Definition. For each block, take its labelled observations (all, or ``num_train`` of them
drawn without replacement), encode them with ``representation_function`` in batches of
``batch_size``, discretise the codes and (by default) the labels with the ``discretizer``,
and compute for every label column ``k`` the normalised gap
``(I(z_a; y_k) - I(z_b; y_k)) / H(y_k)`` as in MIG, ``z_a``, ``z_b`` being the two latents
most informative about ``y_k`` on that block. A leaf-run's score is the mean gap over all label
columns of all its blocks (each label judged on the observations that carry it), i.e. MIG of
the representation against that leaf-run's surrogate labels. The final score is the median of
the leaf-run scores (the paper: "MIG of the final model against the surrogate labels; per
leaf-run a score, then the median across leaf-runs").

Defined cases: a label column with a single value (zero entropy) is left out, with a warning;
a leaf-run without any varying label column, ``num_train`` larger than a block, a block with
fewer than two observations, or malformed input raise a ``ValueError`` saying which.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional, Sequence

import gin
import numpy as np

from rpu_tf.metrics import mig, utils

logger = logging.getLogger(__name__)

LabelBlock = tuple[np.ndarray, np.ndarray]


@gin.configurable("surrogate_mig", denylist=[*utils.METRIC_DENYLIST, "surrogate_labels"])
def compute_surrogate_mig(ground_truth_data, representation_function: utils.RepresentationFunction,
                          random_state: np.random.RandomState, artifact_dir: Optional[str] = None, *,
                          surrogate_labels: Sequence[Sequence[LabelBlock]],
                          num_train: Optional[int] = None, batch_size: int = 64,
                          discretizer_fn: Optional[Callable[..., np.ndarray]] = None,
                          num_bins: Optional[int] = None, discretize_labels: bool = True) -> dict:
    """Median over leaf-runs of the MIG against each leaf-run's surrogate labels.

    Args:
      ground_truth_data: ``FiniteGroundTruthData`` the indices refer to.
      representation_function: maps observations ``(batch, ...)`` to codes ``(batch, D)``.
      random_state: ``np.random.RandomState`` for subsampling (blocks in order of first
        appearance) and for stochastic data sets.
      artifact_dir: unused.
      surrogate_labels: list (leaf-runs) of lists of ``(indices, labels)`` blocks, see module doc.
      num_train: observations per block, drawn without replacement; ``None`` uses all.
      batch_size: batch size for encoding.
      discretizer_fn, num_bins: discretizer of codes and labels; ``None`` reads gin
        ``discretizer``.
      discretize_labels: ``False`` for labels that are already discrete (e.g. true factors).

    Returns:
      ``{"surrogate_mig": float in [0, 1], "leaf_run_scores": [float per leaf-run]}``.
    """
    del artifact_dir
    if not hasattr(ground_truth_data, "observations_from_indices"):
        raise TypeError("compute_surrogate_mig needs a FiniteGroundTruthData (with "
                        f"observations_from_indices), got {type(ground_truth_data).__name__}.")
    if num_train is not None:
        num_train = utils.check_positive_int(num_train, "num_train")
    batch_size = utils.check_positive_int(batch_size, "batch_size")
    leaf_runs = _check_structure(surrogate_labels)

    cache: dict[tuple[int, int], np.ndarray] = {}
    leaf_scores = []
    for r, blocks in enumerate(leaf_runs):
        gaps = []
        for b, (indices, labels) in enumerate(blocks):
            key = (id(indices), id(labels))
            if key not in cache:
                cache[key] = _block_gaps(ground_truth_data, representation_function, random_state,
                                         indices, labels, num_train, batch_size, discretizer_fn,
                                         num_bins, discretize_labels, where=f"leaf-run {r}, block {b}")
            gaps.append(cache[key])
        gaps = np.concatenate(gaps)
        informative = ~np.isnan(gaps)
        if not informative.any():
            raise ValueError(f"Surrogate MIG: leaf-run {r} has no label column that takes more than "
                             "one value; drop the leaf-run or check its labels.")
        leaf_scores.append(float(np.mean(gaps[informative])))
    return {"surrogate_mig": float(np.median(leaf_scores)), "leaf_run_scores": leaf_scores}


def _check_structure(surrogate_labels) -> list:
    if isinstance(surrogate_labels, (tuple, list)) and len(surrogate_labels) == 0:
        raise ValueError("surrogate_labels is empty; give at least one leaf-run with one label block.")
    if not isinstance(surrogate_labels, (tuple, list)):
        raise ValueError("surrogate_labels must be a list (one entry per leaf-run) of lists of "
                         f"(indices, labels) blocks, got {type(surrogate_labels).__name__}.")
    for r, blocks in enumerate(surrogate_labels):
        if not isinstance(blocks, (tuple, list)) or len(blocks) == 0 or any(
                not isinstance(block, (tuple, list)) or len(block) != 2 for block in blocks):
            raise ValueError(f"surrogate_labels[{r}] must be a non-empty list of (indices, labels) "
                             "pairs, one per metaEpoch of the leaf-run.")
    return list(surrogate_labels)


def _block_gaps(ground_truth_data, representation_function, random_state, indices, labels,
                num_train: Optional[int], batch_size: int, discretizer_fn, num_bins,
                discretize_labels: bool, where: str) -> np.ndarray:
    """Normalised MIG gap of every label column of one block, ``(L,)``; NaN for constant columns."""
    idx = ground_truth_data.check_indices(indices, what=f"indices of {where}")
    y = np.asarray(labels)
    if y.ndim == 1:
        y = y[:, np.newaxis]
    if y.ndim != 2 or y.shape[0] != idx.shape[0] or y.shape[1] == 0:
        raise ValueError(f"Surrogate MIG, {where}: labels must have shape ({idx.shape[0]}, L) to match "
                         f"its {idx.shape[0]} indices, got {np.shape(labels)}.")
    if not np.issubdtype(y.dtype, np.number) or not np.all(np.isfinite(y)):
        raise ValueError(f"Surrogate MIG, {where}: labels must be finite numbers.")
    n = idx.shape[0]
    if n < 2:
        raise ValueError(f"Surrogate MIG, {where}: needs at least 2 labelled observations, got {n}.")
    if num_train is not None:
        if num_train > n:
            raise ValueError(
                f"Surrogate MIG, {where}: num_train={num_train} exceeds its {n} labelled observations; "
                f"pass num_train=None to use all of them, or a value <= {n}.")
        chosen = np.sort(random_state.choice(n, num_train, replace=False))
        idx, y = idx[chosen], y[chosen]
    codes = []
    for start in range(0, idx.shape[0], batch_size):
        batch_idx = idx[start:start + batch_size]
        observations = ground_truth_data.observations_from_indices(batch_idx, random_state)
        codes.append(utils.check_representation(representation_function(observations), batch_idx.shape[0]))
    mus = np.concatenate(codes, axis=0).T
    discretized_mus = utils.discretize(mus, discretizer_fn, num_bins)
    discretized_y = utils.discretize(y.T, discretizer_fn, num_bins) if discretize_labels else y.T
    entropy = utils.discrete_entropy(discretized_y)
    gaps = mig.normalised_gaps(utils.discrete_mutual_info(discretized_mus, discretized_y), entropy)
    if np.isnan(gaps).any():
        logger.warning("Surrogate MIG, %s: label columns %s take a single value and are left out.",
                       where, np.flatnonzero(np.isnan(gaps)).tolist())
    return gaps
