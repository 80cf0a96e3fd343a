"""Helpers shared by the metrics, with disentanglement_lib's names and gin scopes.

Layouts follow disentanglement_lib: codes and factors returned by
:func:`generate_batch_factor_code` and :func:`obtain_representation` are
``(num_variables, num_points)``. Sampling draws from ``random_state`` in exactly
disentanglement_lib's order (one ``ground_truth_data.sample(batch)`` per batch) and calls the
representation function on the same batches, so both libraries see the same inputs.

Unlike disentanglement_lib, every representation batch is checked (2-D, right batch size,
finite values, same width in every batch) and a :class:`RepresentationError` says what was
wrong, instead of a NaN score or a shape error deep inside scikit-learn.

Gin scopes: ``discretizer`` (``discretizer_fn``, ``num_bins``), ``histogram_discretizer``
(``num_bins``), ``predictor`` (``predictor_fn``), ``logistic_regression_cv``,
``gradient_boosting_classifier``.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional, Sequence

import gin
import numpy as np

from rpu_tf.metrics import information

logger = logging.getLogger(__name__)

RepresentationFunction = Callable[[np.ndarray], np.ndarray]


class RepresentationError(ValueError):
    """A representation function returned something a metric cannot score."""


# --- checks --------------------------------------------------------------------------------
def check_representation(representation: Any, batch: int, name: str = "representation_function",
                         check_finite: bool = True) -> np.ndarray:
    """Returns ``representation`` as a 2-D real array of ``batch`` (finite) rows, or raises.

    ``check_finite=False`` skips the finiteness check; hot loops then check a small derived
    vector with :func:`check_finite_summary` instead.
    """
    rep = np.asarray(representation)
    if rep.ndim == 2 and rep.shape[0] == batch and rep.shape[1] > 0 and rep.dtype.kind in "fiu" and (
            not check_finite or np.isfinite(rep).all()):
        return rep
    return _raise_representation_error(rep, batch, name)


def check_finite_summary(summary: np.ndarray, representations: Sequence[np.ndarray],
                         name: str = "representation_function") -> None:
    """Raises unless ``summary`` (e.g. per-latent variances of ``representations``) is finite.

    Any NaN/inf code makes such a summary non-finite, so one check of a ``(D,)`` vector covers
    the batch; on failure the codes are checked in full for a precise message.
    """
    if np.isfinite(summary).all():
        return
    for rep in representations:
        check_representation(rep, rep.shape[0], name=name)
    raise RepresentationError(
        f"{name} returned codes so large that their statistics overflow ({summary.tolist()}); "
        "rescale the representation.")


def _raise_representation_error(rep: np.ndarray, batch: int, name: str):
    if rep.ndim != 2:
        raise RepresentationError(
            f"{name} returned an array of shape {rep.shape} for a batch of {batch} observations; "
            "it must return a 2-D array (batch, num_latents). Reshape the output, e.g. "
            "np.reshape(z, (len(x), -1)).")
    if rep.shape[0] != batch:
        raise RepresentationError(
            f"{name} returned {rep.shape[0]} rows for a batch of {batch} observations; it must "
            "return one row per observation, in order.")
    if rep.shape[1] == 0:
        raise RepresentationError(f"{name} returned 0 latents; it must return at least one.")
    if rep.dtype.kind not in "fiu":
        raise RepresentationError(f"{name} returned dtype {rep.dtype}; it must return real numbers.")
    finite = np.isfinite(rep)
    if not finite.all():
        bad_cols = np.flatnonzero(~finite.all(axis=0)).tolist()
        raise RepresentationError(
            f"{name} returned {int((~finite).sum())} NaN/inf values in a batch of {batch} "
            f"(latents {bad_cols}); metrics are undefined on non-finite codes. Check the model "
            "for divergence (e.g. exploding log-variance) before scoring it.")
    raise AssertionError("unreachable: representation passed every check")


def mean_over_batch(x: np.ndarray) -> np.ndarray:
    """``np.mean(x, axis=0)`` with the same ufunc calls (bit-identical), without its Python overhead."""
    if x.dtype.kind in "iub":
        x = x.astype(np.float64)
    return np.add.reduce(x, axis=0) / x.shape[0]


def var_over_batch(x: np.ndarray, ddof: int = 0) -> np.ndarray:
    """``np.var(x, axis=0, ddof=ddof)`` for real arrays with numpy's own steps (bit-identical)."""
    if x.dtype.kind in "iub":
        x = x.astype(np.float64)
    n = x.shape[0]
    mean = np.add.reduce(x, axis=0, keepdims=True)
    mean = np.true_divide(mean, n, out=mean, casting="unsafe")
    d = np.asanyarray(x - mean)
    np.multiply(d, d, out=d)
    return np.add.reduce(d, axis=0) / max(n - ddof, 0)


#: The arguments of every ``compute_*`` metric that gin must not bind (disentanglement_lib's).
METRIC_DENYLIST = ("ground_truth_data", "representation_function", "random_state", "artifact_dir")


def check_positive_int(value: Any, name: str) -> int:
    """Returns ``value`` as an ``int`` >= 1 or raises a ``ValueError`` naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def require_factors(ground_truth_data, metric: str, minimum: int = 1) -> int:
    """Returns ``ground_truth_data.num_factors``; raises if it has fewer than ``minimum``."""
    num_factors = int(ground_truth_data.num_factors)
    if num_factors < minimum:
        raise ValueError(
            f"{metric} needs a data set with at least {minimum} ground-truth factor(s); "
            f"{getattr(ground_truth_data, 'name', type(ground_truth_data).__name__)} has "
            f"{num_factors}. Use an unsupervised metric (UDR, unsupervised_metrics) instead.")
    return num_factors


def require_varying_factors(ys: np.ndarray, metric: str, what: str = "factor") -> None:
    """Raises if a row of ``ys`` (``(num_factors, num_points)``) takes a single value."""
    for j in range(ys.shape[0]):
        if ys.shape[1] == 0 or np.all(ys[j] == ys[j, 0]):
            raise ValueError(
                f"{metric}: {what} {j} takes a single value in the {ys.shape[1]} sampled points, "
                "so no classifier can be fit to it. Increase num_train, or leave the factor out "
                "of the data set's latent factors.")


# --- sampling ------------------------------------------------------------------------------
def _stack_batches(batches: list[np.ndarray], name: str) -> np.ndarray:
    widths = {b.shape[1] for b in batches}
    if len(widths) > 1:
        raise RepresentationError(
            f"{name} returned different numbers of latents across batches: {sorted(widths)}.")
    return np.concatenate(batches, axis=0)


def generate_batch_factor_code(ground_truth_data, representation_function: RepresentationFunction,
                               num_points: int, random_state: np.random.RandomState,
                               batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Samples ``num_points`` observations in batches and encodes them.

    Returns:
      ``(codes, factors)`` of shapes ``(num_latents, num_points)`` and
      ``(num_factors, num_points)``. Points are drawn with replacement, so ``num_points`` may
      exceed the size of a finite data set (as in disentanglement_lib).
    """
    num_points = check_positive_int(num_points, "num_points")
    batch_size = check_positive_int(batch_size, "batch_size")
    codes, factors = [], []
    done = 0
    while done < num_points:
        n = min(num_points - done, batch_size)
        current_factors, current_observations = ground_truth_data.sample(n, random_state)
        factors.append(np.asarray(current_factors))
        codes.append(check_representation(representation_function(current_observations), n))
        done += n
    return (np.transpose(_stack_batches(codes, "representation_function")),
            np.transpose(np.concatenate(factors, axis=0)))


def generate_train_test_codes(ground_truth_data, representation_function: RepresentationFunction,
                              num_train: int, num_test: int, random_state: np.random.RandomState,
                              batch_size: int, metric: str) -> tuple[np.ndarray, ...]:
    """``(codes_train, factors_train, codes_test, factors_test)`` for ``metric``, drawn in this
    order from ``random_state`` (disentanglement_lib's DCI and SAP)."""
    require_factors(ground_truth_data, metric)
    check_positive_int(num_train, "num_train")
    check_positive_int(num_test, "num_test")
    logger.debug("Generating training set.")
    train = generate_batch_factor_code(ground_truth_data, representation_function, num_train, random_state,
                                       batch_size)
    test = generate_batch_factor_code(ground_truth_data, representation_function, num_test, random_state,
                                      batch_size)
    return train + test


def obtain_representation(observations: np.ndarray, representation_function: RepresentationFunction,
                          batch_size: int) -> np.ndarray:
    """Encodes ``observations`` in batches; returns codes of shape ``(num_latents, num_points)``."""
    batch_size = check_positive_int(batch_size, "batch_size")
    num_points = observations.shape[0]
    if num_points == 0:
        raise ValueError("obtain_representation got no observations.")
    codes = []
    for start in range(0, num_points, batch_size):
        batch = observations[start:start + batch_size]
        codes.append(check_representation(representation_function(batch), batch.shape[0]))
    return np.transpose(_stack_batches(codes, "representation_function"))


def fixed_labels(labels, observations: np.ndarray) -> np.ndarray:
    """``labels`` as an array ``(num_factors, N)`` for ``N`` fixed ``observations`` (the
    ``*_on_fixed_data`` metrics); a clear error for any other shape."""
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[1] != observations.shape[0]:
        raise ValueError(f"labels must have shape (num_factors, {observations.shape[0]}), got {labels.shape}.")
    return labels


def split_train_test(observations: np.ndarray, train_percentage: float) -> tuple[np.ndarray, np.ndarray]:
    """Splits ``(num_dims, num_points)`` along points: the first ``ceil(n * p)`` are training."""
    num_points = observations.shape[1]
    num_train = int(np.ceil(num_points * train_percentage))
    return observations[:, :num_train], observations[:, num_train:]


def normalize_data(data: np.ndarray, mean: Optional[np.ndarray] = None,
                   stddev: Optional[np.ndarray] = None):
    """Standardises rows of ``(num_dims, num_points)``; returns ``(normalised, mean, stddev)``.

    Same as disentanglement_lib, except that a row with zero standard deviation is divided by
    1 instead of 0 (it becomes all zeros rather than NaN).
    """
    if mean is None:
        mean = np.mean(data, axis=1)
    if stddev is None:
        stddev = np.std(data, axis=1)
    safe = np.where(stddev == 0, 1.0, stddev)
    return (data - mean[:, np.newaxis]) / safe[:, np.newaxis], mean, stddev


# --- discretisation ------------------------------------------------------------------------
@gin.configurable("histogram_discretizer", denylist=["target"])
def histogram_discretize(target: np.ndarray, num_bins: int = gin.REQUIRED) -> np.ndarray:
    """Bins every row of ``target`` ``(num_dims, num_points)`` into ``num_bins`` equal-width bins.

    Returns bin numbers 1 .. ``num_bins`` with ``target``'s dtype, exactly as
    disentanglement_lib's ``np.digitize(x, np.histogram(x, num_bins)[1][:-1])`` per row, without
    computing the histogram counts. A constant row falls into one bin.
    """
    num_bins = check_positive_int(num_bins, "num_bins")
    target = np.asarray(target)
    if target.ndim != 2:
        raise ValueError(f"histogram_discretize expects (num_dims, num_points), got {target.shape}.")
    out = np.zeros_like(target)
    for i in range(target.shape[0]):
        row = target[i]
        first, last = row.min(), row.max()
        if not (np.isfinite(first) and np.isfinite(last)):
            raise ValueError(f"histogram_discretize: row {i} has non-finite values.")
        if first == last:
            first, last = first - 0.5, last + 0.5
        bin_type = np.result_type(first, last, row)
        if np.issubdtype(bin_type, np.integer):
            bin_type = np.result_type(bin_type, float)
        edges = np.linspace(first, last, num_bins + 1, endpoint=True, dtype=bin_type)
        out[i] = np.searchsorted(edges[:-1], row, side="right")
    return out


# disentanglement_lib's private name, for code written against it.
_histogram_discretize = histogram_discretize


@gin.configurable("discretizer", denylist=["target"])
def make_discretizer(target: np.ndarray, num_bins: int = gin.REQUIRED,
                     discretizer_fn: Callable[..., np.ndarray] = gin.REQUIRED) -> np.ndarray:
    """Discretises ``target`` with ``discretizer_fn(target, num_bins)`` (gin scope ``discretizer``)."""
    return discretizer_fn(target, num_bins)


def discretize(target: np.ndarray, discretizer_fn: Optional[Callable[..., np.ndarray]] = None,
               num_bins: Optional[int] = None) -> np.ndarray:
    """Discretises with explicit settings where given, the gin ``discretizer`` scope otherwise."""
    kwargs = {}
    if discretizer_fn is not None:
        kwargs["discretizer_fn"] = discretizer_fn
    if num_bins is not None:
        kwargs["num_bins"] = num_bins
    return make_discretizer(target, **kwargs)


def discrete_mutual_info(mus: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Mutual information (nats) of every code with every factor, ``(num_codes, num_factors)``."""
    return information.mutual_info_matrix(mus, ys)


def discrete_entropy(ys: np.ndarray) -> np.ndarray:
    """Entropy (nats) of every row of ``ys`` ``(num_factors, num_points)``, ``(num_factors,)``."""
    return information.entropy(ys)


# --- predictors ----------------------------------------------------------------------------
@gin.configurable("predictor")
def make_predictor_fn(predictor_fn: Callable[[], Any] = gin.REQUIRED) -> Callable[[], Any]:
    """Returns the classifier factory bound to ``predictor.predictor_fn``."""
    return predictor_fn


@gin.configurable("logistic_regression_cv")
def logistic_regression_cv():
    """Logistic regression with 5-fold cross-validation over 10 values of C."""
    from sklearn import linear_model, model_selection

    return linear_model.LogisticRegressionCV(Cs=10, cv=model_selection.KFold(n_splits=5))


@gin.configurable("gradient_boosting_classifier")
def gradient_boosting_classifier():
    """scikit-learn's default gradient boosted trees (draws on numpy's global random state)."""
    from sklearn import ensemble

    return ensemble.GradientBoostingClassifier()
