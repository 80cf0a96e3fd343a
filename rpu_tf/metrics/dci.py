"""Disentanglement, Completeness and Informativeness (Eastwood & Williams 2018).

Same as disentanglement_lib's ``dci`` module: one scikit-learn ``GradientBoostingClassifier()``
per factor, fit on the codes; feature importances form the ``(D, F)`` importance matrix.
The classifiers draw on numpy's *global* random state (disentanglement_lib passes no
``random_state``), so two runs agree only if ``np.random.seed`` is set identically first.

Result keys: ``informativeness_train``, ``informativeness_test`` (mean accuracies in [0, 1]),
``disentanglement``, ``completeness`` (in [0, 1]).

Where disentanglement_lib returns NaN this module defines the score: with a single factor each
code's disentanglement is 1 (its importance can only go to that factor), with a single code
each factor's completeness is 1. A factor taking a single value in the training sample
raises a ``ValueError`` (no classifier can be fit).
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
from typing import Optional

import gin
import numpy as np

from rpu_tf.metrics import utils

logger = logging.getLogger(__name__)


@gin.configurable("dci", denylist=utils.METRIC_DENYLIST)
def compute_dci(ground_truth_data, representation_function: utils.RepresentationFunction,
                random_state: np.random.RandomState, artifact_dir: Optional[str] = None,
                num_train: int = gin.REQUIRED, num_test: int = gin.REQUIRED,
                batch_size: int = 16) -> dict:
    """Computes DCI on ``num_train`` training and ``num_test`` test points (drawn with replacement)."""
    del artifact_dir
    return _compute_dci(*utils.generate_train_test_codes(ground_truth_data, representation_function, num_train,
                                                         num_test, random_state, batch_size, "DCI"))


@gin.configurable("dci_validation", denylist=["observations", "labels", "representation_function"])
def compute_dci_on_fixed_data(observations: np.ndarray, labels: np.ndarray,
                              representation_function: utils.RepresentationFunction,
                              train_percentage: float = gin.REQUIRED, batch_size: int = 100) -> dict:
    """DCI on fixed ``observations`` ``(N, ...)`` and discrete ``labels`` ``(F, N)``, the first
    ``train_percentage`` of the points training the trees (disentanglement_lib's
    ``compute_dci_on_fixed_data``, semi-supervised use)."""
    mus = utils.obtain_representation(observations, representation_function, batch_size)
    labels = utils.fixed_labels(labels, observations)
    mus_train, mus_test = utils.split_train_test(mus, train_percentage)
    ys_train, ys_test = utils.split_train_test(labels, train_percentage)
    return _compute_dci(mus_train, ys_train, mus_test, ys_test)


def _compute_dci(mus_train, ys_train, mus_test, ys_test) -> dict:
    """DCI scores from codes ``(D, N)`` and factors ``(F, N)`` of the train and test sets."""
    importance_matrix, train_acc, test_acc = compute_importance_gbt(mus_train, ys_train, mus_test, ys_test)
    return {
        "informativeness_train": train_acc,
        "informativeness_test": test_acc,
        "disentanglement": disentanglement(importance_matrix),
        "completeness": completeness(importance_matrix),
    }


#: sklearn trees draw one ``randint(MAX_INT)`` seed each from the classifier's random state.
_SKLEARN_MAX_INT = np.iinfo(np.int32).max


def _gbt_seed_draws(model, y: np.ndarray) -> int:
    """Seed draws one ``GradientBoostingClassifier.fit`` takes: one per tree it grows."""
    num_classes = np.unique(y).size
    return model.n_estimators * (1 if num_classes == 2 else num_classes)


def compute_importance_gbt(x_train, y_train, x_test, y_test,
                           num_workers: Optional[int] = None) -> tuple[np.ndarray, float, float]:
    """Importance matrix ``(D, F)`` of gradient boosted trees and their mean train/test accuracy.

    The per-factor classifiers are fit in ``num_workers`` threads (default: one per CPU core,
    at most one per factor) with exactly the random numbers disentanglement_lib's sequential
    loop gives them: classifier ``i`` starts from numpy's global state advanced by the seed
    draws of classifiers ``0 .. i-1``, and the global state ends where the sequential loop
    leaves it. Each classifier's end state is checked against that prediction; on any
    mismatch (another scikit-learn's drawing pattern) the fits are redone sequentially.
    """
    from sklearn import ensemble

    utils.require_varying_factors(y_train, "DCI")
    num_factors = y_train.shape[0]
    features_train, features_test = x_train.T, x_test.T
    global_state = np.random.mtrand._rand  # what GradientBoostingClassifier(random_state=None) uses
    start = global_state.get_state()
    models = [ensemble.GradientBoostingClassifier() for _ in range(num_factors)]
    workers = num_workers if num_workers is not None else (os.cpu_count() or 1)
    workers = max(1, min(int(workers), num_factors))
    fitted = False
    if workers > 1:
        probe = np.random.RandomState()
        probe.set_state(start)
        states = []
        for i, model in enumerate(models):
            states.append(probe.get_state())
            probe.randint(_SKLEARN_MAX_INT, size=_gbt_seed_draws(model, y_train[i, :]))
        states.append(probe.get_state())
        streams = []
        for i, model in enumerate(models):
            stream = np.random.RandomState()
            stream.set_state(states[i])
            model.set_params(random_state=stream)
            streams.append(stream)
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda i: models[i].fit(features_train, y_train[i, :]), range(num_factors)))
        fitted = all(_same_state(streams[i].get_state(), states[i + 1]) for i in range(num_factors))
        if fitted:
            global_state.set_state(states[-1])
        else:
            logger.warning("DCI: scikit-learn drew random numbers in an unexpected pattern; "
                           "refitting sequentially for exact disentanglement_lib parity.")
            global_state.set_state(start)
            models = [ensemble.GradientBoostingClassifier() for _ in range(num_factors)]
    if not fitted:
        for i, model in enumerate(models):
            model.fit(features_train, y_train[i, :])
    importance_matrix = np.zeros((x_train.shape[0], num_factors), dtype=np.float64)
    train_acc, test_acc = [], []
    for i, model in enumerate(models):
        importance_matrix[:, i] = np.abs(model.feature_importances_)
        train_acc.append(np.mean(model.predict(features_train) == y_train[i, :]))
        test_acc.append(np.mean(model.predict(features_test) == y_test[i, :]))
    return importance_matrix, float(np.mean(train_acc)), float(np.mean(test_acc))


def _same_state(a, b) -> bool:
    return all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y for x, y in zip(a, b))


def _one_minus_normalised_entropy(p: np.ndarray) -> np.ndarray:
    """``1 - H(p_r) / log(K)`` for every row of ``p`` ``(R, K)``; rows are normalised; 1 if K == 1."""
    if p.shape[1] == 1:
        return np.ones(p.shape[0])
    p = p / p.sum(axis=1, keepdims=True)
    h = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=1)
    return 1.0 - h / np.log(p.shape[1])


def disentanglement_per_code(importance_matrix: np.ndarray) -> np.ndarray:
    """Disentanglement of each code, ``(D,)`` in [0, 1]."""
    return _one_minus_normalised_entropy(importance_matrix + 1e-11)


def _importance_weighted(scores: np.ndarray, importance_matrix: np.ndarray, axis: int) -> float:
    """``scores`` weighted by their share of the importance (summed over ``axis``); uniform
    weights when nothing is important."""
    if importance_matrix.sum() == 0.0:
        importance_matrix = np.ones_like(importance_matrix)
    weights = importance_matrix.sum(axis=axis) / importance_matrix.sum()
    return float(np.sum(scores * weights))


def disentanglement(importance_matrix: np.ndarray) -> float:
    """Disentanglement of the representation: per-code scores weighted by code importance."""
    return _importance_weighted(disentanglement_per_code(importance_matrix), importance_matrix, axis=1)


def completeness_per_factor(importance_matrix: np.ndarray) -> np.ndarray:
    """Completeness of each factor, ``(F,)`` in [0, 1]."""
    return _one_minus_normalised_entropy(importance_matrix.T + 1e-11)


def completeness(importance_matrix: np.ndarray) -> float:
    """Completeness of the representation: per-factor scores weighted by factor importance."""
    return _importance_weighted(completeness_per_factor(importance_matrix), importance_matrix, axis=0)
