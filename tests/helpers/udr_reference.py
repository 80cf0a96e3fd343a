"""A deliberately plain implementation of UDR from the specification in shared/dlib_oracle.md.

disentanglement_lib's wheel does not ship its UDR module, so the tests (and the speed
benchmark) compare ``rpu_tf.metrics.udr`` against this: one Lasso or one Spearman
correlation per pair of models / pair of latents, Python loops everywhere.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn import linear_model, preprocessing


def _pair_strength(r: np.ndarray) -> float:
    """Spec step 4, one column / row at a time; NaN (0/0, NaN correlations) counts as 0."""
    def mean_over(vectors):
        values = []
        for v in vectors:
            with np.errstate(divide="ignore", invalid="ignore"):
                value = np.max(v) ** 2 / np.sum(v)
            values.append(0.0 if np.isnan(value) else value)
        return np.mean(values)
    columns = [r[:, c] for c in range(r.shape[1])]
    rows = [r[a, :] for a in range(r.shape[0])]
    return (mean_over(columns) + mean_over(rows)) / 2


def reference_udr(ground_truth_data, representation_functions, random_state, batch_size, num_data_points,
                  correlation_matrix="lasso", filter_low_kl=True, include_raw_correlations=True,
                  kl_filter_threshold=0.01):
    if num_data_points % batch_size != 0:
        raise ValueError("num_data_points must be a multiple of batch_size")
    num_models = len(representation_functions)
    codes = [[] for _ in range(num_models)]
    kls = [[] for _ in range(num_models)]
    for _ in range(num_data_points // batch_size):
        observations = ground_truth_data.sample_observations(batch_size, random_state)
        for m, fn in enumerate(representation_functions):
            z, kl = fn(observations)
            codes[m].append(np.asarray(z, dtype=np.float64))
            kls[m].append(np.asarray(kl, dtype=np.float64))
    reps, masks = [], []
    for m in range(num_models):
        z = np.vstack(codes[m])
        kl = np.mean(np.stack(kls[m]), axis=0)
        z = preprocessing.StandardScaler().fit(z).transform(z)
        for d in range(z.shape[1]):
            if not kl[d] > 0.01:
                z[:, d] = 0.0
        reps.append(z)
        masks.append(kl > kl_filter_threshold)
    dim = reps[0].shape[1]
    raw = np.zeros((num_models, num_models, dim, dim))
    pairwise = np.zeros((num_models, num_models, 1))
    for i in range(num_models):
        for j in range(num_models):
            if i == j:
                continue
            if correlation_matrix == "lasso":
                model = linear_model.Lasso(alpha=0.1, random_state=random_state).fit(reps[i], reps[j])
                r = np.abs(model.coef_).T
            else:
                r = np.zeros((dim, dim))
                for a in range(dim):
                    for b in range(dim):
                        r[a, b] = abs(stats.spearmanr(reps[i][:, a], reps[j][:, b], nan_policy="omit")[0])
            raw[i, j] = r
            if filter_low_kl:
                r = r[masks[i], :][:, masks[j]]
            pairwise[i, j, 0] = _pair_strength(r)
    result = {}
    if include_raw_correlations:
        result["raw_correlations"] = raw.tolist()
    result["pairwise_disentanglement_scores"] = pairwise.tolist()
    result["model_scores"] = [
        float(np.median([pairwise[j, i, 0] for j in range(num_models) if j != i])) for i in range(num_models)]
    return result
