"""Separated Attribute Predictability (Kumar et al. 2018, https://arxiv.org/abs/1711.00848).

Same as disentanglement_lib's ``sap_score`` module (result key ``SAP_score``). With
``continuous_factors=True`` the ``(D, F)`` score matrix of squared correlations is computed
for all pairs at once. With ``continuous_factors=False`` one ``LinearSVC(C=0.01,
class_weight="balanced")`` is fit per (latent, factor) pair in disentanglement_lib's order;
liblinear seeds itself from numpy's *global* random state, so exact agreement between two
runs needs ``np.random.seed`` set identically first.

A factor taking a single value in the sample raises a ``ValueError`` (its variance is zero
and no classifier can be fit); disentanglement_lib returns NaN or fails there.
"""

from __future__ import annotations

import logging
from typing import Optional

import gin
import numpy as np

from rpu_tf.metrics import utils

logger = logging.getLogger(__name__)


@gin.configurable("sap_score", denylist=utils.METRIC_DENYLIST)
def compute_sap(ground_truth_data, representation_function: utils.RepresentationFunction,
                random_state: np.random.RandomState, artifact_dir: Optional[str] = None,
                num_train: int = gin.REQUIRED, num_test: int = gin.REQUIRED, batch_size: int = 16,
                continuous_factors: bool = gin.REQUIRED) -> dict:
    """Computes the SAP score; returns ``{"SAP_score": float}`` in [0, 1]."""
    del artifact_dir
    mus, ys, mus_test, ys_test = utils.generate_train_test_codes(
        ground_truth_data, representation_function, num_train, num_test, random_state, batch_size, "SAP score")
    logger.debug("Computing score matrix.")
    return _compute_sap(mus, ys, mus_test, ys_test, continuous_factors)


@gin.configurable("sap_score_validation", denylist=["observations", "labels", "representation_function"])
def compute_sap_on_fixed_data(observations: np.ndarray, labels: np.ndarray,
                              representation_function: utils.RepresentationFunction,
                              train_percentage: float = gin.REQUIRED, continuous_factors: bool = gin.REQUIRED,
                              batch_size: int = 100) -> dict:
    """SAP on fixed ``observations`` ``(N, ...)`` and ``labels`` ``(F, N)``, the first
    ``train_percentage`` of the points as the training set (disentanglement_lib's
    ``compute_sap_on_fixed_data``, semi-supervised use)."""
    mus = utils.obtain_representation(observations, representation_function, batch_size)
    labels = utils.fixed_labels(labels, observations)
    mus_train, mus_test = utils.split_train_test(mus, train_percentage)
    ys_train, ys_test = utils.split_train_test(labels, train_percentage)
    return _compute_sap(mus_train, ys_train, mus_test, ys_test, continuous_factors)


def _compute_sap(mus, ys, mus_test, ys_test, continuous_factors: bool) -> dict:
    score_matrix = compute_score_matrix(mus, ys, mus_test, ys_test, continuous_factors)
    score = compute_avg_diff_top_two(score_matrix)
    logger.debug("SAP score: %.2g", score)
    return {"SAP_score": score}


def compute_score_matrix(mus, ys, mus_test, ys_test, continuous_factors: bool) -> np.ndarray:
    """Predictability of each factor from each single latent, ``(D, F)``."""
    utils.require_varying_factors(ys, "SAP score")
    if continuous_factors:
        return _continuous_score_matrix(mus, ys)
    from sklearn import svm

    num_latents, num_factors = mus.shape[0], ys.shape[0]
    score_matrix = np.zeros((num_latents, num_factors))
    for i in range(num_latents):
        mu_i = mus[i, :, np.newaxis]
        mu_i_test = mus_test[i, :, np.newaxis]
        for j in range(num_factors):
            classifier = svm.LinearSVC(C=0.01, class_weight="balanced")
            classifier.fit(mu_i, ys[j, :])
            score_matrix[i, j] = np.mean(classifier.predict(mu_i_test) == ys_test[j, :])
    return score_matrix


def _continuous_score_matrix(mus: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Squared Pearson correlation of every latent with every factor; 0 for latents with var <= 1e-12."""
    n = mus.shape[1]
    mus_c = mus - mus.mean(axis=1, keepdims=True)
    ys_c = ys - ys.mean(axis=1, keepdims=True)
    cov = (mus_c @ ys_c.T) / (n - 1)
    var_mu = np.einsum("ij,ij->i", mus_c, mus_c) / (n - 1)
    var_y = np.einsum("ij,ij->i", ys_c, ys_c) / (n - 1)
    active = var_mu > 1e-12
    out = np.zeros_like(cov)
    out[active] = cov[active] ** 2 / (var_mu[active, np.newaxis] * var_y[np.newaxis, :])
    return out


def compute_avg_diff_top_two(matrix: np.ndarray) -> float:
    """Mean over factors of the gap between the two highest scores; a single latent's gap is its score."""
    if matrix.shape[0] == 1:
        return float(np.mean(matrix[0]))
    sorted_matrix = np.sort(matrix, axis=0)
    return float(np.mean(sorted_matrix[-1, :] - sorted_matrix[-2, :]))
