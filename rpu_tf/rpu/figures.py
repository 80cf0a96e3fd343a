"""Figures of an rPU-VAE run: latent traversals per metaEpoch (Fig. 5), reduction plot (Fig. 3).

Both need matplotlib (``pip install 'rpu_tf[viz]'``); without it they are skipped with a log
line, everything else of the run is unaffected.
"""

from __future__ import annotations

import logging
from typing import Optional, Sequence

import numpy as np

# Imported here, not in the functions: rpu_tf.visualize registers gin configurables, which
# must happen before a run's gin config is parsed and locked.
from rpu_tf.visualize.dependencies import MissingDependencyError, pyplot
from rpu_tf.visualize.images import save_figure
from rpu_tf.visualize.model import plot_latent_overview

logger = logging.getLogger(__name__)

def save_traversals(path: str, model, observation: np.ndarray, kl: np.ndarray,
                    active: Sequence[int]) -> Optional[str]:
    """Latent traversals of one observation through ``model`` (paper Fig. 5): one row per
    latent, labelled with its KL, active latents at full contrast. Returns the path, or None
    when matplotlib is not installed."""
    import tensorflow as tf

    code = model.encode(np.asarray(observation, np.float32)[None])[0].numpy()[0]

    def decode(codes: np.ndarray) -> np.ndarray:
        return tf.sigmoid(model.decode(np.asarray(codes, np.float32))).numpy()

    try:
        return plot_latent_overview(decode, code, np.asarray(kl), np.asarray(active, np.int64), path)
    except MissingDependencyError as error:
        logger.info("%s: skipping %s.", error, path)
        return None


def plot_reduction(path: str, codes: np.ndarray, latents: Sequence, kept: Optional[np.ndarray],
                   latent_ids: Sequence[int]) -> Optional[str]:
    """Fig. 3 style plot, one panel per active latent: sorted codes, their gaps, the peaks
    and the kept points. Returns the path, or None when matplotlib is not installed."""
    try:
        plt = pyplot()
    except MissingDependencyError as error:
        logger.info("%s: skipping %s.", error, path)
        return None
    codes = np.asarray(codes).reshape(len(codes), -1)
    n = codes.shape[1]
    fig, axes = plt.subplots(n, 1, figsize=(8, 3 * n), squeeze=False)
    kept_mask = np.zeros(codes.shape[0], bool)
    if kept is not None:
        kept_mask[kept] = True
    for j, ax in enumerate(axes[:, 0]):
        lat = latents[j] if j < len(latents) else None
        order = lat.order if lat is not None else np.argsort(codes[:, j])
        sorted_codes = codes[order, j]
        ax.plot(sorted_codes, color="tab:green", lw=1.5, label="sorted code")
        ax.set_ylabel(f"z{latent_ids[j] + 1}")  # 1-based, as in the traversal plots
        in_kept = np.flatnonzero(kept_mask[order])
        if in_kept.size:
            ax.axvspan(in_kept.min(), in_kept.max(), color="tab:red", alpha=0.15, label="kept")
        twin = ax.twinx()
        gaps = np.diff(sorted_codes)
        twin.plot(np.arange(gaps.size) + 0.5, gaps, color="tab:blue", lw=0.8, label="gap (derivative)")
        if lat is not None and lat.peaks.size:
            twin.plot(lat.peaks + 0.5, gaps[lat.peaks], "x", color="tab:red", label="peaks")
            if np.isfinite(lat.threshold):
                twin.axhline(lat.threshold, color="tab:gray", ls="--", lw=0.8, label="peak threshold")
        twin.set_ylabel("gap")
        ax.set_xlabel("position in sorted order")
        handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        ax.legend(handles, [h.get_label() for h in handles], loc="upper left", fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)
