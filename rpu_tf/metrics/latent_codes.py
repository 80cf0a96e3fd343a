"""Numpy statistics of latent codes that the recursion and its figures share.

- :func:`active_latents`: which latents are active (mean KL to the prior above a threshold;
  gin ``active_latents``): the rPU-VAE's surrogate labels (:mod:`rpu_tf.rpu.reduction`), the
  latents ``rpu_visualize`` draws at full contrast;
- :func:`smoothed_gaps`: the gaps between the sorted codes of one latent, averaged over a
  window (the reduction's peaks are found on them; its Fig. 3 plot draws them).

No TensorFlow and no file I/O here.
"""

from __future__ import annotations

import gin
import numpy as np


@gin.configurable("active_latents")
def active_latents(kl, active_kl_threshold: float = 1.0) -> np.ndarray:
    """Indices of latents whose mean KL to the prior (nats) exceeds ``active_kl_threshold``.

    The paper's code uses 1.0 on a proxy of the KL computed from log sigma as if it were
    log sigma^2; ours is the real per-latent KL, so the threshold is a parameter.
    """
    kl = np.asarray(kl, dtype=np.float64)
    if kl.ndim != 1:
        raise ValueError(f"kl must be a vector with one value per latent, got shape {kl.shape}.")
    return np.flatnonzero(kl > active_kl_threshold)


def smoothed_gaps(gaps: np.ndarray, window: int) -> np.ndarray:
    """Gaps averaged over a centred window of ``window`` gaps (shrunk at the ends); 1: as given.

    The mean of ``w`` neighbouring gaps is the code distance spanned by ``w`` sorted points
    divided by ``w``: the inverse local density of the codes.
    """
    gaps = np.asarray(gaps, dtype=np.float64)
    window = int(window)
    if window <= 1 or gaps.size == 0:
        return gaps
    window = min(window, gaps.size)
    cumulative = np.concatenate([[0.0], np.cumsum(gaps)])
    centre = np.arange(gaps.size)
    lo = np.clip(centre - window // 2, 0, gaps.size)
    hi = np.clip(centre - window // 2 + window, 0, gaps.size)
    return (cumulative[hi] - cumulative[lo]) / (hi - lo)
