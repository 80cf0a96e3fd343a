"""A model's representation against the ground-truth factors, without a SavedModel round trip.

:func:`evaluate_ground_truth` is what the rPU-VAE pipeline reports for its final model:
MIG and DCI of a representation function (gin scope ``ground_truth_evaluation``), written
to ``RUN/ground_truth/{mig,dci}/results/`` in disentanglement_lib's layout: apart from
``RUN/metrics/``, which is ``rpu_evaluate``'s (the README's evaluation of the same run then
neither collides with it nor is overwritten by it).
:func:`factors_tracked` says which factor each surrogate label follows.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Callable, Iterator, Sequence

import gin
import numpy as np

from rpu_tf.data.ground_truth_data import FiniteGroundTruthData, GroundTruthData
from rpu_tf.layout import paths
from rpu_tf.layout.results import update_result_directory
from rpu_tf.metrics import dci, mig, utils

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def seeded_global_numpy(seed: int) -> Iterator[None]:
    """numpy's global random state seeded with ``seed`` inside, restored afterwards (for
    metrics whose scikit-learn classifiers draw on it)."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


#: Histogram bins of the ground-truth check's MIG by default (disentanglement_lib's study).
NUM_BINS = 20


@gin.configurable("ground_truth_evaluation",
                  denylist=["representation_function", "data", "run_dir", "num_points", "seed"])
def evaluate_ground_truth(representation_function: Callable[[np.ndarray], np.ndarray], data: GroundTruthData,
                          run_dir: str, num_points: int, seed: int, batch_size: int = 64,
                          num_bins: int = NUM_BINS) -> dict:
    """MIG and DCI of ``representation_function`` on ``data``; returns the headline numbers.

    Args:
      representation_function: e.g. the mean of q(z|x) of the final model.
      data: labelled data set.
      run_dir: results go to ``run_dir/ground_truth/{mig,dci}/results``.
      num_points: MIG's ``num_train``; DCI's ``num_train`` (and half of it ``num_test``).
      seed: seeds both metrics (and numpy's global state during DCI).
      batch_size: encoding batch size (64).
      num_bins: MIG's histogram bins (20, disentanglement_lib's study).
    """
    out = {}
    start = time.time()
    result = mig.compute_mig(data, representation_function, np.random.RandomState(seed), num_train=num_points,
                             batch_size=batch_size, discretizer_fn=utils.histogram_discretize, num_bins=num_bins)
    result["elapsed_time"] = time.time() - start
    update_result_directory(paths.results_dir(paths.ground_truth_dir(run_dir, "mig")), "evaluation", dict(result))
    out["discrete_mig"] = float(result["discrete_mig"])
    start = time.time()
    with seeded_global_numpy(seed):
        result = dci.compute_dci(data, representation_function, np.random.RandomState(seed), num_train=num_points,
                                 num_test=max(1, num_points // 2), batch_size=batch_size)
    result["elapsed_time"] = time.time() - start
    update_result_directory(paths.results_dir(paths.ground_truth_dir(run_dir, "dci")), "evaluation", dict(result))
    out.update({k: float(result[k]) for k in ("disentanglement", "completeness", "informativeness_test")})
    logger.info("rPU-VAE final model vs ground truth: MIG %.3f, DCI disentanglement %.3f.", out["discrete_mig"],
                out["disentanglement"])
    return out


def factors_tracked(data: FiniteGroundTruthData, root_indices: np.ndarray, labels: np.ndarray,
                    active: Sequence[int], num_bins: int = 20) -> list[dict]:
    """For each surrogate label (column of ``labels``, latent ``active[j]``, 0-based): its
    mutual information (nats) with each ground-truth factor of the observations
    ``root_indices``, normalised by the factor's entropy as MIG normalises (a factor constant
    on these observations gets 0), and the factor with the highest normalised value."""
    factors = data.index_to_factors(root_indices).T
    codes = utils.histogram_discretize(np.asarray(labels).T, num_bins=num_bins)
    mi = utils.discrete_mutual_info(codes, factors)
    entropy = utils.discrete_entropy(factors)
    normalised = np.divide(mi, entropy[None, :], out=np.zeros_like(mi), where=entropy[None, :] > 0)
    names = getattr(data, "factor_names", [f"factor_{i}" for i in range(factors.shape[0])])
    return [{"latent": int(latent), "factor": names[int(np.argmax(row))],
             "mutual_information": {n: float(v) for n, v in zip(names, raw)},
             "normalized_mutual_information": {n: float(v) for n, v in zip(names, row)}}
            for raw, row, latent in zip(mi, normalised, list(active))]
