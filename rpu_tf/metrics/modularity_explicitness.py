"""Modularity and explicitness (Ridgeway & Mozer 2018, https://arxiv.org/abs/1802.05312).

Same as disentanglement_lib's ``modularity_explicitness`` module; result keys
``modularity_score``, ``explicitness_score_train``, ``explicitness_score_test`` (in [0, 1]).

Where disentanglement_lib returns NaN or fails this module defines the score:
- a constant latent is standardised to zeros instead of NaN (disentanglement_lib's
  logistic regression then rejects the NaN input);
- with a single factor, a code that carries information about it is fully modular (1);
- explicitness scores each class against the classifier's own classes, so a test set that
  lacks a class, or has one unseen in training, is scored on the classes both share (where
  disentanglement_lib fails on mismatched shapes).
A factor taking a single value in the training sample raises a ``ValueError``.
"""

from __future__ import annotations

from typing import Callable, Optional

import gin
import numpy as np

from rpu_tf.metrics import utils


@gin.configurable("modularity_explicitness", denylist=utils.METRIC_DENYLIST)
def compute_modularity_explicitness(ground_truth_data, representation_function: utils.RepresentationFunction,
                                    random_state: np.random.RandomState,
                                    artifact_dir: Optional[str] = None,
                                    num_train: int = gin.REQUIRED, num_test: int = gin.REQUIRED,
                                    batch_size: int = 16,
                                    discretizer_fn: Optional[Callable[..., np.ndarray]] = None,
                                    num_bins: Optional[int] = None) -> dict:
    """Computes modularity (from discretised mutual information) and explicitness (ROC-AUC).

    ``discretizer_fn`` / ``num_bins``: ``None`` reads the gin scope ``discretizer``.
    """
    del artifact_dir
    utils.require_factors(ground_truth_data, "Modularity/explicitness")
    utils.check_positive_int(num_train, "num_train")
    utils.check_positive_int(num_test, "num_test")
    mus_train, ys_train = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size)
    mus_test, ys_test = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_test, random_state, batch_size)
    utils.require_varying_factors(ys_train, "Explicitness")
    discretized_mus = utils.discretize(mus_train, discretizer_fn, num_bins)
    mutual_information = utils.discrete_mutual_info(discretized_mus, ys_train)
    scores = {"modularity_score": modularity(mutual_information)}
    mus_train_norm, mean_mus, stddev_mus = utils.normalize_data(mus_train)
    mus_test_norm, _, _ = utils.normalize_data(mus_test, mean_mus, stddev_mus)
    num_factors = ys_train.shape[0]
    train, test = np.zeros(num_factors), np.zeros(num_factors)
    for i in range(num_factors):
        train[i], test[i] = explicitness_per_factor(mus_train_norm, ys_train[i, :],
                                                    mus_test_norm, ys_test[i, :])
    scores["explicitness_score_train"] = float(np.mean(train))
    scores["explicitness_score_test"] = float(np.mean(test))
    return scores


def _macro_roc_auc(y: np.ndarray, scores: np.ndarray, classes: np.ndarray) -> float:
    """Mean one-vs-rest ROC-AUC over ``classes`` that have positives and negatives in ``y``."""
    from sklearn import metrics

    indicator = (y[:, np.newaxis] == classes[np.newaxis, :]).astype(np.int64)
    positives = indicator.sum(axis=0)
    usable = (positives > 0) & (positives < y.shape[0])
    if not usable.any():
        raise ValueError("Explicitness: no class has both positive and negative points in the "
                         "evaluation sample; increase num_test.")
    if usable.sum() == 1:
        k = int(np.flatnonzero(usable)[0])
        return float(metrics.roc_auc_score(indicator[:, k], scores[:, k]))
    return float(metrics.roc_auc_score(indicator[:, usable], scores[:, usable]))


def explicitness_per_factor(mus_train, y_train, mus_test, y_test) -> tuple[float, float]:
    """ROC-AUC (train, test) of a logistic regression predicting one factor from all codes."""
    from sklearn import linear_model

    clf = linear_model.LogisticRegression().fit(mus_train.T, y_train)
    y_pred_train = clf.predict_proba(mus_train.T)
    y_pred_test = clf.predict_proba(mus_test.T)
    return (_macro_roc_auc(y_train, y_pred_train, clf.classes_),
            _macro_roc_auc(y_test, y_pred_test, clf.classes_))


def modularity(mutual_information: np.ndarray) -> float:
    """Modularity from mutual information ``(D, F)``: mean over codes of ``1 - deviation``."""
    squared_mi = np.square(mutual_information)
    max_squared_mi = np.max(squared_mi, axis=1)
    numerator = np.sum(squared_mi, axis=1) - max_squared_mi
    denominator = max_squared_mi * (squared_mi.shape[1] - 1.0)
    informative = max_squared_mi > 0.0
    delta = np.zeros_like(max_squared_mi)
    if squared_mi.shape[1] > 1:
        delta[informative] = numerator[informative] / denominator[informative]
    modularity_score = 1.0 - delta
    modularity_score[~informative] = 0.0
    return float(np.mean(modularity_score))
