"""Unsupervised Disentanglement Ranking (Duan et al. 2020, https://arxiv.org/abs/1905.12614).

Reproduces disentanglement_lib's ``udr_sklearn`` (not shipped in its PyPI wheel; the
semantics are in ``shared/dlib_oracle.md``):

1. ``num_data_points / batch_size`` rounds; each draws
   ``ground_truth_data.sample_observations(batch_size, random_state)`` once and feeds it to
   every representation function, which returns ``(codes[batch, D], kl[D])``. The KL vectors
   of all rounds are averaged per model.
2. Per model: standardise the codes (``StandardScaler``), zero the latents with mean KL
   <= 0.01 (hard-coded, whatever ``kl_filter_threshold`` is) and keep the mask
   ``kl > kl_filter_threshold``.
3. For every ordered pair (i, j), i != j: ``R = |Lasso(alpha=0.1).fit(z_i, z_j).coef_|.T``
   or the absolute Spearman correlations of the columns, ``(D, D)``; with ``filter_low_kl``
   keep rows active in i and columns active in j.
4. Pair score ``(s_x + s_y) / 2`` with ``s_x = mean(nan_to_num(max(R, 0)**2 / sum(R, 0)))``
   and ``s_y`` the same along axis 1.
5. ``model_scores[i]`` = median over j != i of ``pairwise[j, i]``.

Vectorised: the Lasso fits of model i against all other models are one multi-target fit
(scikit-learn fits every target column independently, so coefficients are those of the
separate fits, and ``random_state`` advances by the same number of draws), without the
all-zero target columns of latents zeroed in step 2 (their coefficients are exactly 0);
Spearman ranks every column once and correlates all pairs in one matrix product.

Defined where disentanglement_lib fails or returns NaN:
- fewer than two models: ``ValueError`` (there is no pair to compare);
- a model with no latent above ``kl_filter_threshold`` (with ``filter_low_kl``): every pair
  involving it scores 0 (disentanglement_lib fails on an empty matrix);
- Spearman correlations of a constant (e.g. zeroed) latent are NaN in ``raw_correlations``,
  as in disentanglement_lib, and count as 0 in the pair scores.
Option ``mask_with_filter_threshold=True`` zeroes latents at ``kl_filter_threshold`` instead of
the hard-coded 0.01 of step 2.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any, Callable, NamedTuple, Sequence, Union

import gin
import numpy as np

from rpu_tf.metrics import utils

logger = logging.getLogger(__name__)

UDRRepresentationFunction = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
DEAD_LATENT_KL = 0.01  # disentanglement_lib's hard-coded KL below which codes are zeroed
_SKLEARN_RAND_R_MAX = 2147483647  # scikit-learn's coordinate descent seeds with randint(0, this)


@gin.configurable("udr_sklearn", denylist=["ground_truth_data", "representation_functions", "random_state"])
def compute_udr_sklearn(ground_truth_data, representation_functions: Sequence[UDRRepresentationFunction],
                        random_state: np.random.RandomState, batch_size: int, num_data_points: int,
                        correlation_matrix: str = "lasso", filter_low_kl: bool = True,
                        include_raw_correlations: bool = True, kl_filter_threshold: float = 0.01,
                        mask_with_filter_threshold: bool = False) -> dict:
    """Computes UDR scores of a set of models trained with the same hyperparameters.

    Args:
      ground_truth_data: data set to sample observations from (factors are not used).
      representation_functions: one per model; each maps observations ``(batch, ...)`` to
        ``(codes (batch, D), per-latent KL (D,))``. All models need the same ``D``.
      random_state: ``np.random.RandomState`` for sampling (and handed to ``Lasso``).
      batch_size: observations per round; must divide ``num_data_points``.
      num_data_points: total observations encoded by every model.
      correlation_matrix: ``"lasso"`` or ``"spearman"``.
      filter_low_kl: ignore latents with mean KL <= ``kl_filter_threshold`` in pair scores.
      include_raw_correlations: add ``raw_correlations`` ``(M, M, D, D)`` to the result.
      kl_filter_threshold: KL threshold (nats) of ``filter_low_kl``.
      mask_with_filter_threshold: zero codes at ``kl_filter_threshold`` instead of 0.01.

    Returns:
      Dict with ``model_scores`` (list of M floats in [0, 1]),
      ``pairwise_disentanglement_scores`` (nested list ``(M, M, 1)``, 0 on the diagonal) and,
      if requested, ``raw_correlations`` (nested list ``(M, M, D, D)``).
    """
    num_models = len(representation_functions)
    if num_models < 2:
        raise ValueError(
            f"UDR compares models pairwise and needs at least 2 representation functions, got "
            f"{num_models}. Score a PBT member with all its replicas at once.")
    if correlation_matrix not in ("lasso", "spearman"):
        raise ValueError(f"correlation_matrix must be 'lasso' or 'spearman', got {correlation_matrix!r}.")
    codes, kl = _generate_representation_dataset(
        ground_truth_data, representation_functions, batch_size, num_data_points, random_state)
    logger.debug("UDR: %d models, %d latents, %d points.", num_models, codes[0].shape[1], num_data_points)

    zero_threshold = kl_filter_threshold if mask_with_filter_threshold else DEAD_LATENT_KL
    prepared, masks = [], []
    for z, kl_m in zip(codes, kl):
        prepared.append(_standardise(z) * np.greater(kl_m, zero_threshold))
        masks.append(kl_m > kl_filter_threshold)

    dead = [m for m, mask in enumerate(masks) if not mask.any()]
    if filter_low_kl and dead:
        logger.warning("UDR: models %s have no latent with KL > %g; their pairs score 0.",
                       dead, kl_filter_threshold)

    if correlation_matrix == "lasso":
        raw = _lasso_correlations(prepared, random_state)
    else:
        raw = _spearman_correlations(prepared)

    pairwise = np.zeros((num_models, num_models, 1))
    for i in range(num_models):
        for j in range(num_models):
            if i == j:
                continue
            corr = raw[i, j]
            if filter_low_kl:
                corr = corr[masks[i]][:, masks[j]]
            pairwise[i, j, 0] = relative_strength_disentanglement(corr)

    scores: dict[str, Any] = {}
    if include_raw_correlations:
        scores["raw_correlations"] = raw.tolist()
    scores["pairwise_disentanglement_scores"] = pairwise.tolist()
    scores["model_scores"] = [
        float(np.median(np.delete(pairwise[:, i, 0], i))) for i in range(num_models)]
    return scores


class MemberScore(NamedTuple):
    """PBT score of a member made of several replicas scored together by UDR."""

    score: float  # mean of the replicas' UDR model scores, in [0, 1]
    best_replica: int  # index of the replica with the highest model score (first on ties)


def member_score(udr_result: Union[dict, Sequence[float]]) -> MemberScore:
    """Member score = mean of its replicas' ``model_scores``; best replica = their argmax.

    Args:
      udr_result: the dict returned by :func:`compute_udr_sklearn` or its ``model_scores``.
    """
    scores = udr_result["model_scores"] if isinstance(udr_result, dict) else udr_result
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1 or scores.size == 0:
        raise ValueError(f"model_scores must be a non-empty list of floats, got shape {scores.shape}.")
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"model_scores contain non-finite values: {scores.tolist()}.")
    return MemberScore(float(np.mean(scores)), int(np.argmax(scores)))


def relative_strength_disentanglement(corr_matrix: np.ndarray) -> float:
    """Pair score of a non-negative correlation matrix ``(D_i, D_j)``, in [0, 1].

    ``(s_x + s_y) / 2`` where ``s_x`` averages ``max**2 / sum`` over columns and ``s_y`` over
    rows; an all-zero row or column counts 0. An empty matrix (no active latent in one model)
    scores 0.
    """
    if corr_matrix.size == 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        score_x = np.nanmean(np.nan_to_num(np.max(corr_matrix, axis=0) ** 2 / np.sum(corr_matrix, axis=0)))
        score_y = np.nanmean(np.nan_to_num(np.max(corr_matrix, axis=1) ** 2 / np.sum(corr_matrix, axis=1)))
    return float((score_x + score_y) / 2)


def _check_udr_output(output: Any, batch: int, model: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(output, tuple) and len(output) == 2:  # fast path of the checks below
        codes, kl = output
        if (type(codes) is np.ndarray and codes.ndim == 2 and codes.shape[0] == batch and codes.shape[1] > 0
                and codes.dtype.kind in "fiu" and type(kl) is np.ndarray and kl.shape == (codes.shape[1],)
                and np.isfinite(codes).all() and np.isfinite(kl).all()):
            return codes, kl
    name = f"representation_functions[{model}]"
    if not isinstance(output, (tuple, list)) or len(output) != 2:
        raise utils.RepresentationError(
            f"{name} must return a pair (codes[batch, D], kl[D]) for UDR, got {type(output).__name__}.")
    codes = utils.check_representation(output[0], batch, name=name)
    kl = np.asarray(output[1])
    if kl.ndim != 1 or kl.shape[0] != codes.shape[1]:
        raise utils.RepresentationError(
            f"{name} returned KL of shape {kl.shape} for {codes.shape[1]} latents; it must be a "
            "vector with the mean KL of each latent.")
    if not np.all(np.isfinite(kl)):
        raise utils.RepresentationError(f"{name} returned non-finite KL values {kl.tolist()}.")
    return codes, kl


def _generate_representation_dataset(ground_truth_data, representation_functions, batch_size: int,
                                     num_data_points: int, random_state: np.random.RandomState):
    """Codes ``(num_data_points, D)`` (float64) and mean KL ``(D,)`` of every model."""
    batch_size = utils.check_positive_int(batch_size, "batch_size")
    num_data_points = utils.check_positive_int(num_data_points, "num_data_points")
    if num_data_points % batch_size != 0:
        raise ValueError(f"num_data_points ({num_data_points}) must be a multiple of batch_size ({batch_size}).")
    if num_data_points < 2:
        raise ValueError("UDR needs num_data_points >= 2 to correlate latents.")
    rounds = num_data_points // batch_size
    num_models = len(representation_functions)
    codes: list = [None] * num_models
    kls: list = [None] * num_models
    for r in range(rounds):
        observations = ground_truth_data.sample_observations(batch_size, random_state)
        for m, fn in enumerate(representation_functions):
            z, kl = _check_udr_output(fn(observations), batch_size, m)
            if codes[m] is None:
                codes[m] = np.zeros((num_data_points, z.shape[1]))
                kls[m] = np.zeros((rounds, z.shape[1]))
            elif z.shape[1] != codes[m].shape[1]:
                raise utils.RepresentationError(
                    f"representation_functions[{m}] returned {z.shape[1]} latents after "
                    f"{codes[m].shape[1]} in an earlier batch.")
            codes[m][r * batch_size:(r + 1) * batch_size] = z
            kls[m][r] = kl
    widths = [c.shape[1] for c in codes]
    if len(set(widths)) != 1:
        raise utils.RepresentationError(
            f"UDR needs models with the same number of latents, got {widths}.")
    return codes, [np.mean(k, axis=0) for k in kls]


def _standardise(z: np.ndarray) -> np.ndarray:
    from sklearn import preprocessing

    return preprocessing.StandardScaler().fit(z).transform(z)


def _lasso_correlations(codes: list, random_state) -> np.ndarray:
    """``raw[i, j] = |Lasso(alpha=0.1).fit(codes[i], codes[j]).coef_|.T``, shape ``(M, M, D, D)``.

    One multi-target fit per model i. Target columns that are all zero (latents zeroed for low
    KL) have coefficients exactly 0 and are not fitted; scikit-learn's solver draws one number
    from ``random_state`` per target column, so one number is drawn per skipped column too and
    ``random_state`` ends where disentanglement_lib leaves it.
    """
    from sklearn import exceptions, linear_model

    num_models, dim = len(codes), codes[0].shape[1]
    raw = np.zeros((num_models, num_models, dim, dim))
    for i in range(num_models):
        others = [j for j in range(num_models) if j != i]
        targets = np.concatenate([codes[j] for j in others], axis=1)
        fitted = np.flatnonzero(targets.any(axis=0)) if codes[i].any() else np.zeros(0, dtype=np.int64)
        coef = np.zeros((targets.shape[1], dim))  # (targets, features)
        if fitted.size:
            model = linear_model.Lasso(random_state=random_state, alpha=0.1)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", exceptions.ConvergenceWarning)
                model.fit(codes[i], targets[:, fitted])
            for warning in caught:  # disentanglement_lib's Lasso, same iterations: one log line, not a warning block
                if issubclass(warning.category, exceptions.ConvergenceWarning):
                    logger.debug("UDR: the Lasso of model %d stopped at scikit-learn's iteration limit (%s).", i,
                                 str(warning.message).split(". ")[-1])
                else:
                    warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
            coef[fitted] = np.abs(np.atleast_2d(model.coef_))
        if isinstance(random_state, np.random.RandomState):
            for _ in range(targets.shape[1] - fitted.size):
                random_state.randint(0, _SKLEARN_RAND_R_MAX)
        for k, j in enumerate(others):
            raw[i, j] = coef[k * dim:(k + 1) * dim].T
    return raw


def _spearman_correlations(codes: list) -> np.ndarray:
    """``raw[i, j][a, b] = |spearman(codes[i][:, a], codes[j][:, b])|``; NaN for a constant column."""
    from scipy import stats

    num_models, dim = len(codes), codes[0].shape[1]
    stacked = np.concatenate(codes, axis=1)
    constant = np.all(stacked == stacked[:1], axis=0)
    ranks = stats.rankdata(stacked, axis=0)
    centred = ranks - ranks.mean(axis=0)
    norms = np.sqrt(np.einsum("ij,ij->j", centred, centred))
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = centred / norms
    corr = np.clip(unit.T @ unit, -1.0, 1.0)
    corr[constant, :] = np.nan
    corr[:, constant] = np.nan
    corr = np.abs(corr).reshape(num_models, dim, num_models, dim).transpose(0, 2, 1, 3).copy()
    for i in range(num_models):
        corr[i, i] = 0.0
    return corr
