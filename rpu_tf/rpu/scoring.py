"""Scores of a PBT member (a :class:`~rpu_tf.training.replica_group.ReplicaGroup`).

A scorer is called as ``scorer(group, seed) -> (score, details)``; higher is better. Every
scorer evaluates each replica; the member's score is the mean over replicas and
``details["best_replica"]`` the replica to export (for UDR: the paper's choice, the
replica with the highest UDR model score). Scorers use a fixed ``score_seed`` (the paper's
code: 0) so that all members and generations are judged on the same samples; set it to
None to use the generation's seed instead.

Selected through gin (``pbt_vae.scorer = @udr_score()``):

- ``udr_score``: PBT-U-VAE, UDR over the replicas (``compute_udr_sklearn``);
- ``mig_score``: PBT-S-VAE, MIG against the ground-truth factors; with ``num_labelled``
  it is the semi-supervised variant: MIG on a fixed random subset of that many labelled
  observations (the paper's 1000-PBT-S-VAE);
- ``metric_score``: any ``compute_*`` metric through gin (e.g. DCI disentanglement);
- :class:`SurrogateMIGScore`: MIG against rPU-VAE's surrogate labels (set by the recursion).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

import gin
import numpy as np

from rpu_tf.metrics import mig as mig_metric
from rpu_tf.metrics import surrogate_mig, udr
from rpu_tf.metrics.utils import histogram_discretize
from rpu_tf.training.representation import (
    DEFAULT_ENCODE_BATCH_SIZE,
    group_representation_functions,
    group_udr_representation_functions,
)

Score = tuple[float, dict]


def _random_state(score_seed: Optional[int], seed: int) -> np.random.RandomState:
    return np.random.RandomState(seed if score_seed is None else score_seed)


def _per_replica(scores: Sequence[float], extra: Optional[Mapping[str, Any]] = None) -> Score:
    scores = [float(s) for s in scores]
    details = {"replica_scores": scores, "best_replica": int(np.argmax(scores))}
    details.update(extra or {})
    return float(np.mean(scores)), details


@gin.configurable("udr_score")
class UDRScore:
    """PBT-U-VAE: mean of the replicas' UDR model scores (needs >= 2 replicas).

    Args are those of :func:`rpu_tf.metrics.udr.compute_udr_sklearn` (paper: batch 10,
    1000 points, Lasso, KL filter on at 0.01) plus ``score_seed`` and ``encode_batch_size``.
    """

    def __init__(self, batch_size: int = 10, num_data_points: int = 1000, correlation_matrix: str = "lasso",
                 filter_low_kl: bool = True, kl_filter_threshold: float = 0.01,
                 score_seed: Optional[int] = 0, encode_batch_size: int = DEFAULT_ENCODE_BATCH_SIZE):
        self.kwargs = dict(batch_size=batch_size, num_data_points=num_data_points,
                           correlation_matrix=correlation_matrix, filter_low_kl=filter_low_kl,
                           include_raw_correlations=False, kl_filter_threshold=kl_filter_threshold)
        self.score_seed = score_seed
        self.encode_batch_size = encode_batch_size

    def __call__(self, group, seed: int) -> Score:
        if group.num_replicas < 2:
            raise ValueError("udr_score needs a member of at least 2 replicas (pbt_vae.num_replicas; paper: 5).")
        functions = group_udr_representation_functions(group, self.encode_batch_size)
        result = udr.compute_udr_sklearn(group.data, functions, _random_state(self.score_seed, seed), **self.kwargs)
        member = udr.member_score(result)
        return member.score, {"replica_scores": [float(s) for s in result["model_scores"]],
                              "best_replica": member.best_replica}


@gin.configurable("mig_score")
class MIGScore:
    """PBT-S-VAE: MIG of each replica against the ground-truth factors, averaged.

    Args:
      num_train: points sampled per evaluation (dlib's ``mig.num_train``).
      batch_size: encoding batch size of the sampling loop.
      num_labelled: if set, the semi-supervised variant: MIG on a fixed random subset of
        this many labelled observations (drawn once from ``label_seed``; paper: 1000).
      label_seed: seed of that subset.
      score_seed: seed of the sampled points (fully supervised variant).
      num_bins: bins of the histogram discretizer (dlib's study: 20).
    """

    def __init__(self, num_train: int = 10000, batch_size: int = 64, num_labelled: Optional[int] = None,
                 label_seed: int = 0, score_seed: Optional[int] = 0, num_bins: int = 20):
        self.num_bins = int(num_bins)
        self.num_train = int(num_train)
        self.batch_size = int(batch_size)
        self.num_labelled = None if num_labelled is None else int(num_labelled)
        self.label_seed = int(label_seed)
        self.score_seed = score_seed
        self._labelled = None

    def labelled_subset(self, data) -> tuple[np.ndarray, np.ndarray]:
        """The fixed ``(observations, factors (F, N))`` of the semi-supervised variant."""
        if self._labelled is None:
            factors, observations = data.sample(self.num_labelled, np.random.RandomState(self.label_seed))
            self._labelled = (observations, np.asarray(factors).T)
        return self._labelled

    def __call__(self, group, seed: int) -> Score:
        functions = group_representation_functions(group, "mean")
        if self.num_labelled is not None:
            observations, labels = self.labelled_subset(group.data)
            scores = [mig_metric.compute_mig_on_fixed_data(observations, labels, f, batch_size=self.batch_size,
                                                           discretizer_fn=histogram_discretize,
                                                           num_bins=self.num_bins)["discrete_mig"]
                      for f in functions]
            return _per_replica(scores, {"num_labelled": self.num_labelled})
        scores = [mig_metric.compute_mig(group.data, f, _random_state(self.score_seed, seed),
                                         num_train=self.num_train, batch_size=self.batch_size,
                                         discretizer_fn=histogram_discretize, num_bins=self.num_bins)["discrete_mig"]
                  for f in functions]
        return _per_replica(scores)


@gin.configurable("metric_score")
class MetricScore:
    """Any ``compute_*`` metric as the score: ``metric_fn(data, representation_function, rs)[key]``.

    Example (DCI disentanglement)::

        pbt_vae.scorer = @metric_score()
        metric_score.metric_fn = @dci
        metric_score.key = "disentanglement"
        dci.num_train = 10000
        dci.num_test = 5000
    """

    def __init__(self, metric_fn: Callable[..., dict] = gin.REQUIRED, key: str = gin.REQUIRED,
                 score_seed: Optional[int] = 0):
        self.metric_fn = metric_fn
        self.key = key
        self.score_seed = score_seed

    def __call__(self, group, seed: int) -> Score:
        scores = []
        for function in group_representation_functions(group, "mean"):
            result = self.metric_fn(group.data, function, _random_state(self.score_seed, seed))
            if self.key not in result:
                raise KeyError(f"metric_score.key {self.key!r} is not in the metric's result; keys: "
                               f"{sorted(result)}.")
            scores.append(float(result[self.key]))
        return _per_replica(scores, {"metric": getattr(self.metric_fn, "__name__", str(self.metric_fn)),
                                     "key": self.key})


@gin.configurable("surrogate_mig_score", denylist=["surrogate_labels"])
class SurrogateMIGScore:
    """rPU-VAE's final PBT-S-VAE: MIG against the surrogate labels, median over leaf-runs.

    ``surrogate_labels`` is the recursion's list (leaf-runs) of lists of ``(indices,
    labels)`` blocks (see :mod:`rpu_tf.metrics.surrogate_mig`); the member's data set must
    be the finite data set the indices refer to.
    """

    def __init__(self, surrogate_labels, num_train: Optional[int] = 2000, batch_size: int = 64,
                 score_seed: Optional[int] = 0, num_bins: int = 20):
        self.surrogate_labels = surrogate_labels
        self.num_bins = int(num_bins)
        self.num_train = num_train
        self.batch_size = int(batch_size)
        self.score_seed = score_seed

    def _num_train(self) -> Optional[int]:
        if self.num_train is None:
            return None
        smallest = min(len(idx) for run in self.surrogate_labels for idx, _ in run)
        return min(int(self.num_train), smallest)

    def __call__(self, group, seed: int) -> Score:
        scores, leaf_scores = [], []
        for function in group_representation_functions(group, "mean"):
            result = surrogate_mig.compute_surrogate_mig(
                group.data, function, _random_state(self.score_seed, seed), surrogate_labels=self.surrogate_labels,
                num_train=self._num_train(), batch_size=self.batch_size, discretizer_fn=histogram_discretize,
                num_bins=self.num_bins)
            scores.append(result["surrogate_mig"])
            leaf_scores.append(result["leaf_run_scores"])
        return _per_replica(scores, {"leaf_run_scores": leaf_scores})
