"""FactorVAE disentanglement score (Kim & Mnih 2018, https://arxiv.org/abs/1802.05983).

Same sampling and majority-vote classifier as disentanglement_lib's ``factor_vae`` module;
result keys ``train_accuracy``, ``eval_accuracy`` (in [0, 1]) and ``num_active_dims``.

disentanglement_lib quirks, kept by default:
- ``num_active_dims`` is ``len(mask)``, i.e. always the total number of latents;
  ``fix_num_active_dims=True`` reports the number of latents that pass ``prune_dims``.
- ``prune_dims.threshold`` defaults to 0, which keeps zero-variance latents "active"; their
  variance ratio is NaN and ``np.argmin`` then always picks them. Use a positive threshold
  (disentanglement_lib's study uses 0.05) when a representation may have constant latents.
"""

from __future__ import annotations

import logging
from typing import Optional

import gin
import numpy as np

from rpu_tf.metrics import utils

logger = logging.getLogger(__name__)


@gin.configurable("factor_vae_score", denylist=utils.METRIC_DENYLIST)
def compute_factor_vae(ground_truth_data, representation_function: utils.RepresentationFunction,
                       random_state: np.random.RandomState, artifact_dir: Optional[str] = None,
                       batch_size: int = gin.REQUIRED, num_train: int = gin.REQUIRED,
                       num_eval: int = gin.REQUIRED, num_variance_estimate: int = gin.REQUIRED,
                       prune_threshold: Optional[float] = None,
                       fix_num_active_dims: bool = False) -> dict:
    """Computes the FactorVAE score.

    Args:
      batch_size: points per vote (all share the value of one random factor).
      num_train, num_eval: number of votes for training / evaluating the classifier.
      num_variance_estimate: points used to estimate the global variance of each latent.
      prune_threshold: latents with standard deviation below it are ignored; ``None`` reads
        gin ``prune_dims.threshold`` (default 0).
      fix_num_active_dims: report the number of unpruned latents instead of
        disentanglement_lib's total count.
    """
    del artifact_dir
    utils.require_factors(ground_truth_data, "FactorVAE score")
    batch_size = utils.check_positive_int(batch_size, "batch_size")
    if batch_size < 2:
        raise ValueError("FactorVAE score needs batch_size >= 2 to estimate a variance per vote.")
    logger.debug("Computing global variances to standardise.")
    global_variances = _compute_variances(ground_truth_data, representation_function,
                                          num_variance_estimate, random_state)
    active_dims = _prune_dims(global_variances) if prune_threshold is None else \
        _prune_dims(global_variances, threshold=prune_threshold)
    if not active_dims.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}

    logger.debug("Generating training set.")
    training_votes = _generate_training_batch(ground_truth_data, representation_function, batch_size,
                                              num_train, random_state, global_variances, active_dims)
    classifier = np.argmax(training_votes, axis=0)
    other_index = np.arange(training_votes.shape[1])
    train_accuracy = np.sum(training_votes[classifier, other_index]) / np.sum(training_votes)
    logger.debug("Training set accuracy: %.2g", train_accuracy)

    logger.debug("Generating evaluation set.")
    eval_votes = _generate_training_batch(ground_truth_data, representation_function, batch_size,
                                          num_eval, random_state, global_variances, active_dims)
    eval_accuracy = np.sum(eval_votes[classifier, other_index]) / np.sum(eval_votes)
    logger.debug("Evaluation set accuracy: %.2g", eval_accuracy)
    num_active = int(active_dims.sum()) if fix_num_active_dims else len(active_dims)
    return {"train_accuracy": float(train_accuracy), "eval_accuracy": float(eval_accuracy),
            "num_active_dims": num_active}


@gin.configurable("prune_dims", denylist=["variances"])
def _prune_dims(variances: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Boolean mask of latents whose standard deviation is at least ``threshold``."""
    return np.sqrt(variances) >= threshold


prune_dims = _prune_dims


def _compute_variances(ground_truth_data, representation_function, batch_size: int,
                       random_state: np.random.RandomState, eval_batch_size: int = 64) -> np.ndarray:
    """Variance (ddof=1) of each latent over ``batch_size`` sampled observations, ``(D,)``."""
    batch_size = utils.check_positive_int(batch_size, "num_variance_estimate")
    if batch_size < 2:
        raise ValueError("num_variance_estimate must be >= 2 to estimate a variance.")
    observations = ground_truth_data.sample_observations(batch_size, random_state)
    representations = utils.obtain_representation(observations, representation_function, eval_batch_size)
    return np.var(representations.T, axis=0, ddof=1)


def _generate_training_batch(ground_truth_data, representation_function, batch_size: int,
                             num_points: int, random_state: np.random.RandomState,
                             global_variances: np.ndarray, active_dims: np.ndarray) -> np.ndarray:
    """Votes ``(num_factors, D)``: how often fixing factor k made latent d the least variable."""
    num_points = utils.check_positive_int(num_points, "num_train/num_eval")
    num_factors = ground_truth_data.num_factors
    votes = np.zeros((num_factors, global_variances.shape[0]), dtype=np.int64)
    active_global = global_variances[active_dims]
    all_active = bool(active_dims.all())
    # Zero global variances (prune threshold 0) give NaN ratios, as in disentanglement_lib.
    zero_global = bool(np.any(active_global == 0))
    for _ in range(num_points):
        factor_index = random_state.randint(num_factors)
        factors = ground_truth_data.sample_factors(batch_size, random_state)
        factors[:, factor_index] = factors[0, factor_index]
        observations = ground_truth_data.sample_observations_from_factors(factors, random_state)
        representations = utils.check_representation(representation_function(observations), batch_size,
                                                      check_finite=False)
        local_variances = utils.var_over_batch(representations, ddof=1)
        utils.check_finite_summary(local_variances, (representations,))
        local = local_variances if all_active else local_variances[active_dims]
        if not zero_global:
            argmin = (local / active_global).argmin()
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                argmin = (local / active_global).argmin()
        votes[factor_index, argmin] += 1
    return votes
