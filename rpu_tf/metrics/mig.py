"""Mutual Information Gap (Chen et al. 2018, https://arxiv.org/abs/1802.04942).

Same sampling, discretisation and result key (``discrete_mig``) as disentanglement_lib's
``mig`` module; mutual information is computed for all pairs at once.

Where disentanglement_lib returns NaN or fails, this module defines the score:
- a factor that takes a single value in the sample has zero entropy and no defined gap; it is
  left out of the mean (with a warning); if every factor is constant a ``ValueError`` is
  raised;
- a representation with a single latent has gap ``I(z; v) - 0`` (the missing second latent
  carries no information).
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

import gin
import numpy as np

from rpu_tf.metrics import utils

logger = logging.getLogger(__name__)


@gin.configurable("mig", denylist=utils.METRIC_DENYLIST)
def compute_mig(ground_truth_data, representation_function: utils.RepresentationFunction,
                random_state: np.random.RandomState, artifact_dir: Optional[str] = None,
                num_train: int = gin.REQUIRED, batch_size: int = 16,
                discretizer_fn: Optional[Callable[..., np.ndarray]] = None,
                num_bins: Optional[int] = None) -> dict:
    """Computes the mutual information gap on ``num_train`` sampled points.

    Args:
      ground_truth_data: ``GroundTruthData`` to sample from.
      representation_function: maps observations ``(batch, ...)`` to codes ``(batch, D)``.
      random_state: ``np.random.RandomState``; draws as disentanglement_lib does.
      artifact_dir: unused (disentanglement_lib's signature).
      num_train: number of points (drawn with replacement).
      batch_size: batch size for sampling and encoding.
      discretizer_fn, num_bins: discretizer settings; ``None`` reads the gin scope
        ``discretizer`` (``discretizer.discretizer_fn``, ``discretizer.num_bins``).

    Returns:
      ``{"discrete_mig": float}`` in [0, 1].
    """
    del artifact_dir
    utils.require_factors(ground_truth_data, "MIG")
    utils.check_positive_int(num_train, "num_train")
    logger.debug("Generating training set.")
    mus_train, ys_train = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size)
    return _compute_mig(mus_train, ys_train, discretizer_fn, num_bins)


@gin.configurable("mig_gaps", denylist=utils.METRIC_DENYLIST)
def compute_mig_gaps(ground_truth_data, representation_function: utils.RepresentationFunction,
                     random_state: np.random.RandomState, artifact_dir: Optional[str] = None,
                     num_train: int = gin.REQUIRED, batch_size: int = 16,
                     discretizer_fn: Optional[Callable[..., np.ndarray]] = None,
                     num_bins: Optional[int] = None) -> dict:
    """MIG and each factor's normalised gap (:func:`normalised_gaps`): which factors a model
    disentangles, not only their mean. Same points, arguments and ``discrete_mig`` as
    :func:`compute_mig` (not a disentanglement_lib metric: its own gin scope ``mig_gaps`` and
    ``evaluation.evaluation_fn = @mig_gaps``).

    Returns:
      ``{"discrete_mig": float, "gap.<factor>": float, ...}``: one gap in [0, 1] per factor
      that varies in the sample, named by the data set's ``factor_names`` (``factor_<k>``
      where it has none).
    """
    del artifact_dir
    utils.require_factors(ground_truth_data, "MIG")
    utils.check_positive_int(num_train, "num_train")
    mus_train, ys_train = utils.generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size)
    score, gaps = _mig_and_gaps(mus_train, ys_train, discretizer_fn, num_bins)
    names = list(getattr(ground_truth_data, "factor_names", None) or [f"factor_{k}" for k in range(len(gaps))])
    return {"discrete_mig": score, **{f"gap.{name}": float(gap) for name, gap in zip(names, gaps)
                                      if np.isfinite(gap)}}


def normalised_gaps(mutual_info: np.ndarray, entropy: np.ndarray) -> np.ndarray:
    """Per-factor normalised gaps ``(F,)`` from ``mutual_info`` ``(D, F)`` and ``entropy`` ``(F,)``.

    Factor ``k``: ``(I(z_a; v_k) - I(z_b; v_k)) / H(v_k)`` with ``z_a``, ``z_b`` the two latents
    most informative about ``v_k`` (``I(z_b; v_k) = 0`` if there is one latent). NaN where
    ``H(v_k) = 0``: the gap of a constant factor is undefined.
    """
    if mutual_info.shape[0] == 1:
        sorted_m = np.concatenate([mutual_info, np.zeros_like(mutual_info)], axis=0)
    else:
        sorted_m = np.sort(mutual_info, axis=0)[::-1]
    gaps = np.full(entropy.shape, np.nan)
    informative = entropy > 0
    gaps[informative] = (sorted_m[0, informative] - sorted_m[1, informative]) / entropy[informative]
    return gaps


def mig_from_information(mutual_info: np.ndarray, entropy: np.ndarray,
                         what: str = "factor") -> tuple[float, np.ndarray]:
    """Mean normalised gap over factors with non-zero entropy, and the per-factor gaps.

    See :func:`normalised_gaps`; raises ``ValueError`` if every factor is constant.
    """
    gaps = normalised_gaps(mutual_info, entropy)
    informative = entropy > 0
    if not informative.any():
        raise ValueError(
            f"MIG is undefined: every {what} takes a single value in the sample (zero entropy). "
            "Increase the number of points or check the labels.")
    if not informative.all():
        logger.warning("MIG: %s(s) %s take a single value in the sample and are left out of the mean.",
                       what, np.flatnonzero(~informative).tolist())
    return float(np.mean(gaps[informative])), gaps


def _compute_mig(mus_train: np.ndarray, ys_train: np.ndarray,
                 discretizer_fn: Optional[Callable[..., np.ndarray]] = None,
                 num_bins: Optional[int] = None) -> dict:
    """MIG of codes ``(D, N)`` against discrete factors ``(F, N)``."""
    return {"discrete_mig": _mig_and_gaps(mus_train, ys_train, discretizer_fn, num_bins)[0]}


def _mig_and_gaps(mus_train: np.ndarray, ys_train: np.ndarray,
                  discretizer_fn: Optional[Callable[..., np.ndarray]] = None,
                  num_bins: Optional[int] = None) -> tuple[float, np.ndarray]:
    """MIG and the per-factor gaps ``(F,)`` of codes ``(D, N)`` against factors ``(F, N)``."""
    discretized_mus = utils.discretize(mus_train, discretizer_fn, num_bins)
    mutual_info = utils.discrete_mutual_info(discretized_mus, ys_train)
    return mig_from_information(mutual_info, utils.discrete_entropy(ys_train))


@gin.configurable("mig_validation", denylist=["observations", "labels", "representation_function"])
def compute_mig_on_fixed_data(observations: np.ndarray, labels: np.ndarray,
                              representation_function: utils.RepresentationFunction,
                              batch_size: int = 100,
                              discretizer_fn: Optional[Callable[..., np.ndarray]] = None,
                              num_bins: Optional[int] = None) -> dict:
    """MIG on fixed ``observations`` ``(N, ...)`` and discrete ``labels`` ``(F, N)`` (semi-supervised use)."""
    mus = utils.obtain_representation(observations, representation_function, batch_size)
    labels = utils.fixed_labels(labels, observations)
    return _compute_mig(mus, labels, discretizer_fn, num_bins)
