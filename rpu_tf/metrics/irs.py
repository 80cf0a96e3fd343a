"""Interventional Robustness Score (Suter et al. 2019, https://arxiv.org/abs/1811.00007).

Same as disentanglement_lib's ``irs`` module (gin scope ``irs``; keys ``IRS`` in [0, 1] and
``num_active_dims``). Factors are discretised with the ``discretizer`` (as in
disentanglement_lib) and constant latents are dropped before scoring.

disentanglement_lib quirk, kept by default: ``num_active_dims`` is ``np.sum`` of the *values*
of the non-constant latents, not their number. ``fix_num_active_dims=True`` reports the count.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

import gin
import numpy as np

from rpu_tf.metrics import utils

logger = logging.getLogger(__name__)


@gin.configurable("irs", denylist=utils.METRIC_DENYLIST)
def compute_irs(ground_truth_data, representation_function: utils.RepresentationFunction,
                random_state: np.random.RandomState, artifact_dir: Optional[str] = None,
                diff_quantile: float = 0.99, num_train: int = gin.REQUIRED,
                batch_size: int = gin.REQUIRED,
                discretizer_fn: Optional[Callable[..., np.ndarray]] = None,
                num_bins: Optional[int] = None, fix_num_active_dims: bool = False) -> dict:
    """Computes the IRS on ``num_train`` points.

    Args:
      diff_quantile: quantile in [0, 1] of the within-group deviations (1.0 as in the paper).
      discretizer_fn, num_bins: discretizer of the factors; ``None`` reads gin ``discretizer``.
      fix_num_active_dims: report the number of non-constant latents instead of
        disentanglement_lib's sum of their values.
    """
    del artifact_dir
    utils.require_factors(ground_truth_data, "IRS")
    utils.check_positive_int(num_train, "num_train")
    if not 0.0 <= diff_quantile <= 1.0:
        raise ValueError(f"diff_quantile must be in [0, 1], got {diff_quantile}.")
    logger.debug("Generating training set.")
    mus, ys = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size)
    ys_discrete = utils.discretize(ys, discretizer_fn, num_bins)
    active_mus = _drop_constant_dims(mus)
    if not active_mus.any():
        irs_score = 0.0
    else:
        irs_score = scalable_disentanglement_score(ys_discrete.T, active_mus.T, diff_quantile)["avg_score"]
    num_active = int(active_mus.shape[0]) if fix_num_active_dims else float(np.sum(active_mus))
    return {"IRS": float(irs_score), "num_active_dims": num_active}


def _drop_constant_dims(ys: np.ndarray) -> np.ndarray:
    """Rows of ``ys`` ``(num_dims, num_points)`` with non-zero variance."""
    ys = np.asarray(ys)
    if ys.ndim != 2:
        raise ValueError("Expecting a matrix.")
    return ys[ys.var(axis=1) > 0.0, :]


def scalable_disentanglement_score(gen_factors: np.ndarray, latents: np.ndarray,
                                   diff_quantile: float = 0.99) -> dict:
    """IRS of ``latents`` ``(N, D)`` against discrete ``gen_factors`` ``(N, F)``.

    Returns a dict with ``disentanglement_scores`` ``(D,)``, ``avg_score`` (weighted by each
    latent's maximal deviation), ``parents`` ``(D,)``, ``IRS_matrix`` ``(D, F)`` and
    ``max_deviations`` ``(D,)``.
    """
    num_gen = gen_factors.shape[1]
    num_lat = latents.shape[1]
    max_deviations = np.max(np.abs(latents - latents.mean(axis=0)), axis=0)
    cum_deviations = np.zeros((num_lat, num_gen))
    for i in range(num_gen):
        # Stable sort keeps each group's rows in their original order, so group means and
        # percentiles see the same numbers in the same order as boolean masking would.
        order = np.argsort(gen_factors[:, i], kind="stable")
        values = gen_factors[order, i]
        starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
        ends = np.append(starts[1:], values.shape[0])
        for start, end in zip(starts, ends):
            group = latents[order[start:end], :]
            diffs = np.abs(group - np.mean(group, axis=0))
            cum_deviations[:, i] += np.percentile(diffs, q=diff_quantile * 100, axis=0)
        cum_deviations[:, i] /= starts.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        normalized_deviations = cum_deviations / max_deviations[:, np.newaxis]
    irs_matrix = 1.0 - normalized_deviations
    disentanglement_scores = irs_matrix.max(axis=1)
    if np.sum(max_deviations) > 0.0:
        avg_score = np.average(disentanglement_scores, weights=max_deviations)
    else:
        avg_score = np.mean(disentanglement_scores)
    return {
        "disentanglement_scores": disentanglement_scores,
        "avg_score": avg_score,
        "parents": irs_matrix.argmax(axis=1),
        "IRS_matrix": irs_matrix,
        "max_deviations": max_deviations,
    }
