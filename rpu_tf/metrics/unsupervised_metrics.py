"""Unsupervised scores of a representation: covariance and mutual information between codes.

Same as disentanglement_lib's ``unsupervised_metrics`` module; result keys
``gaussian_total_correlation`` (nats, >= 0), ``gaussian_wasserstein_correlation``,
``gaussian_wasserstein_correlation_norm`` (divided by the total variance) and
``mutual_info_score`` (mean discretised mutual information between distinct codes, nats).
The factors of the data set are sampled (for identical random draws) but not used.

Where disentanglement_lib returns NaN this module defines the score:
- constant latents are independent of all others and are left out of the total correlation
  (disentanglement_lib: ``log 0 - log 0 = NaN``); with no varying latent it is 0;
- with zero total variance the normalised Wasserstein correlation is 0;
- with a single latent there are no pairs of codes and ``mutual_info_score`` is 0;
- ``scipy.linalg.sqrtm`` can return a complex matrix with round-off imaginary parts for a
  (near-)singular covariance; disentanglement_lib then returns a complex number, we return
  its real part.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

import gin
import numpy as np

from rpu_tf.metrics import utils

logger = logging.getLogger(__name__)


@gin.configurable("unsupervised_metrics", denylist=utils.METRIC_DENYLIST)
def unsupervised_metrics(ground_truth_data, representation_function: utils.RepresentationFunction,
                         random_state: np.random.RandomState, artifact_dir: Optional[str] = None,
                         num_train: int = gin.REQUIRED, batch_size: int = 16,
                         discretizer_fn: Optional[Callable[..., np.ndarray]] = None,
                         num_bins: Optional[int] = None) -> dict:
    """Computes the unsupervised scores on ``num_train`` points (``num_train >= 2``).

    ``discretizer_fn`` / ``num_bins``: ``None`` reads the gin scope ``discretizer``.
    """
    del artifact_dir
    if utils.check_positive_int(num_train, "num_train") < 2:
        raise ValueError("unsupervised_metrics needs num_train >= 2 to estimate a covariance.")
    logger.debug("Generating training set.")
    mus_train, _ = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size)
    num_codes = mus_train.shape[0]
    cov_mus = np.atleast_2d(np.cov(mus_train))
    scores = {"gaussian_total_correlation": gaussian_total_correlation(cov_mus)}
    scores["gaussian_wasserstein_correlation"] = gaussian_wasserstein_correlation(cov_mus)
    total_variance = np.sum(np.diag(cov_mus))
    scores["gaussian_wasserstein_correlation_norm"] = (
        scores["gaussian_wasserstein_correlation"] / total_variance if total_variance > 0 else 0.0)
    if num_codes < 2:
        scores["mutual_info_score"] = 0.0
    else:
        mus_discrete = utils.discretize(mus_train, discretizer_fn, num_bins)
        mutual_info_matrix = utils.discrete_mutual_info(mus_discrete, mus_discrete)
        np.fill_diagonal(mutual_info_matrix, 0)
        scores["mutual_info_score"] = float(np.sum(mutual_info_matrix) / (num_codes ** 2 - num_codes))
    return scores


def kl_gaussians_numerically_unstable(mean_0, cov_0, mean_1, cov_1, k: int) -> float:
    """KL(N(mean_0, cov_0) || N(mean_1, cov_1)) in nats for ``k``-dimensional Gaussians, from
    determinants and an inverse (disentanglement_lib's reference for testing
    :func:`gaussian_total_correlation`; unstable for large or ill-conditioned ``cov``)."""
    inv_1 = np.linalg.inv(cov_1)
    diff = np.asarray(mean_1) - np.asarray(mean_0)
    return float(0.5 * (np.trace(inv_1 @ cov_0) + diff @ inv_1 @ diff - k
                        + np.log(np.linalg.det(cov_1) / np.linalg.det(cov_0))))


def gaussian_total_correlation(cov: np.ndarray) -> float:
    """KL divergence between N(0, cov) and the product of its marginals, in nats.

    Latents with zero variance are left out (they are independent of the rest).
    """
    varying = np.diag(cov) > 0
    if not varying.any():
        return 0.0
    cov = cov[np.ix_(varying, varying)]
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1]))


def gaussian_wasserstein_correlation(cov: np.ndarray) -> float:
    """Squared 2-Wasserstein distance between N(0, cov) and the product of its marginals."""
    import warnings

    import scipy.linalg

    with warnings.catch_warnings():
        # A constant latent makes the matrix singular; its square root is still well defined.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        sqrtm = scipy.linalg.sqrtm(cov * np.expand_dims(np.diag(cov), axis=1))
    return float(np.real(2 * np.trace(cov) - 2 * np.trace(sqrtm)))
