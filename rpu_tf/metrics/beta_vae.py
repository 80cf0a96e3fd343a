"""BetaVAE disentanglement score with scikit-learn (Higgins et al. 2017).

Same sampling and classifier as disentanglement_lib's ``beta_vae`` module (gin scope
``beta_vae_sklearn``; keys ``train_accuracy``, ``eval_accuracy`` in [0, 1]). Each training
point is the mean absolute difference of the codes of two batches that share the value of
one random factor; a ``LogisticRegression(random_state=random_state)`` predicts that factor.
A data set needs at least two factors, and the training votes at least two distinct
factors, or a ``ValueError`` says so.
"""

from __future__ import annotations

import logging
from typing import Optional

import gin
import numpy as np

from rpu_tf.metrics import utils

logger = logging.getLogger(__name__)


@gin.configurable("beta_vae_sklearn", denylist=utils.METRIC_DENYLIST)
def compute_beta_vae_sklearn(ground_truth_data, representation_function: utils.RepresentationFunction,
                             random_state: np.random.RandomState, artifact_dir: Optional[str] = None,
                             batch_size: int = gin.REQUIRED, num_train: int = gin.REQUIRED,
                             num_eval: int = gin.REQUIRED) -> dict:
    """Computes the BetaVAE score from ``num_train`` / ``num_eval`` pairs of ``batch_size`` batches."""
    from sklearn import linear_model

    del artifact_dir
    utils.require_factors(ground_truth_data, "BetaVAE score", minimum=2)
    logger.debug("Generating training set.")
    train_points, train_labels = _generate_training_batch(
        ground_truth_data, representation_function, batch_size, num_train, random_state)
    if np.unique(train_labels).shape[0] < 2:
        raise ValueError(
            f"BetaVAE score: all {num_train} training points fixed the same factor; increase num_train.")
    logger.debug("Training sklearn model.")
    model = linear_model.LogisticRegression(random_state=random_state)
    model.fit(train_points, train_labels)
    train_accuracy = float(np.mean(model.predict(train_points) == train_labels))
    logger.debug("Training set accuracy: %.2g", train_accuracy)

    logger.debug("Generating evaluation set.")
    eval_points, eval_labels = _generate_training_batch(
        ground_truth_data, representation_function, batch_size, num_eval, random_state)
    eval_accuracy = float(model.score(eval_points, eval_labels))
    logger.debug("Evaluation set accuracy: %.2g", eval_accuracy)
    return {"train_accuracy": train_accuracy, "eval_accuracy": eval_accuracy}


def _generate_training_batch(ground_truth_data, representation_function, batch_size: int,
                             num_points: int, random_state: np.random.RandomState):
    """Returns features ``(num_points, D)`` and the fixed factor of each, ``(num_points,)``."""
    num_points = utils.check_positive_int(num_points, "num_train/num_eval")
    batch_size = utils.check_positive_int(batch_size, "batch_size")
    labels = np.zeros(num_points, dtype=np.int64)
    points = None  # allocated once the width of the representation is known
    for i in range(num_points):
        labels[i], feature_vector = _generate_training_sample(
            ground_truth_data, representation_function, batch_size, random_state)
        if points is None:
            points = np.zeros((num_points, feature_vector.shape[0]))
        elif feature_vector.shape[0] != points.shape[1]:
            raise utils.RepresentationError(
                f"representation_function returned {feature_vector.shape[0]} latents after {points.shape[1]}.")
        points[i] = feature_vector
    return points, labels


def _generate_training_sample(ground_truth_data, representation_function, batch_size: int,
                              random_state: np.random.RandomState):
    """One training point: ``(fixed factor index, mean |z1 - z2| over the batch)``."""
    index = random_state.randint(ground_truth_data.num_factors)
    factors1 = ground_truth_data.sample_factors(batch_size, random_state)
    factors2 = ground_truth_data.sample_factors(batch_size, random_state)
    factors2[:, index] = factors1[:, index]
    observation1 = ground_truth_data.sample_observations_from_factors(factors1, random_state)
    observation2 = ground_truth_data.sample_observations_from_factors(factors2, random_state)
    representation1 = utils.check_representation(representation_function(observation1), batch_size,
                                                 check_finite=False)
    representation2 = utils.check_representation(representation_function(observation2), batch_size,
                                                 check_finite=False)
    difference = np.subtract(representation1, representation2)
    feature_vector = utils.mean_over_batch(np.abs(difference, out=difference))
    utils.check_finite_summary(feature_vector, (representation1, representation2))
    return index, feature_vector
