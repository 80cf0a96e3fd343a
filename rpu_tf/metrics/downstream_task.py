"""Downstream classification task (Locatello et al. 2019, https://arxiv.org/abs/1811.12359).

Same as disentanglement_lib's ``downstream_task`` module: for every training-set size in
``num_train``, ``num_train`` training and ``num_test`` test points are drawn (in that order,
from ``random_state``), one classifier per factor is fit on the codes of the training points,
and its accuracy on the training and test points is reported. The classifier factory is the
gin scope ``predictor`` (``predictor.predictor_fn = @logistic_regression_cv`` or
``@gradient_boosting_classifier``, both in :mod:`rpu_tf.metrics.utils`), or the
``predictor_fn`` argument.

Result keys, per training-set size ``n`` (disentanglement_lib's): ``n:mean_train_accuracy``,
``n:mean_test_accuracy``, ``n:min_train_accuracy``, ``n:min_test_accuracy`` and, for every
factor ``i``, ``n:train_accuracy_factor_i`` and ``n:test_accuracy_factor_i``.

scikit-learn's ``GradientBoostingClassifier()`` has no ``random_state``, so it draws on numpy's
*global* random state: two runs agree only if ``np.random.seed`` is set identically first
(``rpu_evaluate`` does). ``LogisticRegressionCV`` (unshuffled 5-fold cross-validation) draws
nothing. The classifiers are fit one after the other, in disentanglement_lib's order.

A factor taking a single value in a training sample raises a ``ValueError`` (no classifier
can be fit to it); disentanglement_lib fails inside scikit-learn there.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional, Sequence, Union

import gin
import numpy as np

from rpu_tf.metrics import utils

logger = logging.getLogger(__name__)

METRIC = "Downstream task"


@gin.configurable("downstream_task", denylist=utils.METRIC_DENYLIST)
def compute_downstream_task(ground_truth_data, representation_function: utils.RepresentationFunction,
                            random_state: np.random.RandomState, artifact_dir: Optional[str] = None,
                            num_train: Union[int, Sequence[int]] = gin.REQUIRED,
                            num_test: int = gin.REQUIRED, batch_size: int = 16,
                            predictor_fn: Optional[Callable[[], Any]] = None) -> dict:
    """Accuracy of per-factor classifiers trained on codes, for each training-set size.

    Args:
      ground_truth_data: ``GroundTruthData`` to sample from.
      representation_function: maps observations ``(batch, ...)`` to codes ``(batch, D)``.
      random_state: ``np.random.RandomState``; draws as disentanglement_lib does.
      artifact_dir: unused (disentanglement_lib's signature).
      num_train: training-set sizes (a list, as in disentanglement_lib's configs, or one int).
      num_test: number of test points, drawn anew for every training-set size.
      batch_size: batch size for sampling and encoding.
      predictor_fn: a function returning an unfitted scikit-learn classifier; ``None`` reads
        the gin scope ``predictor`` (``predictor.predictor_fn``).

    Returns:
      ``{"<n>:mean_train_accuracy": float, ...}`` (see the module docstring), accuracies in [0, 1].
    """
    del artifact_dir
    sizes = _train_sizes(num_train)
    if predictor_fn is None:
        predictor_fn = _gin_predictor_fn()
    scores = {}
    for train_size in sizes:
        mus_train, ys_train, mus_test, ys_test = utils.generate_train_test_codes(
            ground_truth_data, representation_function, train_size, num_test, random_state, batch_size, METRIC)
        train_acc, test_acc = compute_accuracies(mus_train, ys_train, mus_test, ys_test, predictor_fn)
        scores.update(_size_scores(str(train_size), train_acc, test_acc))
        logger.debug("Downstream task with %d training points: mean test accuracy %.3g.", train_size,
                     scores[f"{train_size}:mean_test_accuracy"])
    return scores


def _gin_predictor_fn() -> Callable[[], Any]:
    try:
        return utils.make_predictor_fn()
    except RuntimeError as error:  # gin: a required binding is missing
        raise ValueError(
            "The downstream task needs a classifier: bind predictor.predictor_fn = "
            "@logistic_regression_cv or @gradient_boosting_classifier (disentanglement_lib's two "
            f"configs), or pass predictor_fn. ({error})") from None


def _train_sizes(num_train: Union[int, Sequence[int]]) -> list[int]:
    """``num_train`` as a list of positive ints (one int stands for a list of one)."""
    if isinstance(num_train, (int, np.integer)):
        sizes = [num_train]
    elif isinstance(num_train, (str, bytes)) or not hasattr(num_train, "__iter__"):
        sizes = []
    else:
        sizes = list(num_train)
    if not sizes:
        raise ValueError("downstream_task.num_train must be a non-empty list of training-set sizes, "
                         f"e.g. [10, 100, 1000, 10000]; got {num_train!r}.")
    return [utils.check_positive_int(n, "num_train") for n in sizes]


def _size_scores(size: str, train_acc: Sequence[float], test_acc: Sequence[float]) -> dict:
    """disentanglement_lib's keys and key order for one training-set size."""
    scores = {
        f"{size}:mean_train_accuracy": float(np.mean(train_acc)),
        f"{size}:mean_test_accuracy": float(np.mean(test_acc)),
        f"{size}:min_train_accuracy": float(np.min(train_acc)),
        f"{size}:min_test_accuracy": float(np.min(test_acc)),
    }
    for i, (train, test) in enumerate(zip(train_acc, test_acc)):
        scores[f"{size}:train_accuracy_factor_{i}"] = float(train)
        scores[f"{size}:test_accuracy_factor_{i}"] = float(test)
    return scores


def compute_accuracies(mus_train: np.ndarray, ys_train: np.ndarray, mus_test: np.ndarray, ys_test: np.ndarray,
                       predictor_fn: Callable[[], Any]) -> tuple[list[float], list[float]]:
    """Train and test accuracy of one ``predictor_fn()`` classifier per factor.

    Codes are ``(D, N)`` and factors ``(F, N)`` (disentanglement_lib's layout); classifier
    ``i`` is fit on the training codes and factor ``i``, in factor order.
    """
    utils.require_varying_factors(ys_train, METRIC)
    x_train, x_test = np.transpose(mus_train), np.transpose(mus_test)
    train_acc, test_acc = [], []
    for i in range(ys_train.shape[0]):
        model = predictor_fn()
        model.fit(x_train, ys_train[i, :])
        train_acc.append(float(np.mean(model.predict(x_train) == ys_train[i, :])))
        test_acc.append(float(np.mean(model.predict(x_test) == ys_test[i, :])))
    return train_acc, test_acc
