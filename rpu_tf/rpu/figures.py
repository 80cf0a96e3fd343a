"""Figures of an rPU-VAE run: latent traversals per metaEpoch (Fig. 5), reduction plot (Fig. 3).

Traversals are written with TensorFlow's PNG encoder (no extra dependency). The reduction
plot needs matplotlib (``pip install 'rpu_tf[viz]'``); without it the plot is skipped with
a log line, everything else of the run is unaffected.
"""

from __future__ import annotations

import logging
import os
from typing import Optional, Sequence

import numpy as np

logger = logging.getLogger(__name__)

#: Brightness of the rows of inactive latents in traversal grids (active rows are 1).
INACTIVE_ROW_BRIGHTNESS = 0.35


def traversal_grid(model, observation: np.ndarray, active: Sequence[int] = (), num_steps: int = 9,
                   limit: float = 2.0) -> np.ndarray:
    """Latent traversals of one observation: rows = latents, columns = values in [-limit, limit].

    Each latent of the observation's posterior mean is set in turn to ``num_steps`` evenly
    spaced values while the others stay; the decoder's Bernoulli means are tiled into a
    ``(num_latent * H, num_steps * W, C)`` float image in [0, 1]. Rows of latents not in
    ``active`` are dimmed, as the paper highlights active latents by contrast.
    """
    import tensorflow as tf

    obs = np.asarray(observation, np.float32)[None]
    mean = model.encode(obs)[0].numpy()[0]
    num_latent = mean.size
    values = np.linspace(-limit, limit, num_steps, dtype=np.float32)
    codes = np.repeat(mean[None, None, :], num_latent * num_steps, axis=0).reshape(num_latent, num_steps, -1)
    for j in range(num_latent):
        codes[j, :, j] = values
    images = tf.sigmoid(model.decode(codes.reshape(-1, num_latent))).numpy()
    h, w, c = images.shape[1:]
    images = images.reshape(num_latent, num_steps, h, w, c)
    brightness = np.full(num_latent, INACTIVE_ROW_BRIGHTNESS, np.float32)
    brightness[list(active)] = 1.0
    images = images * brightness[:, None, None, None, None]
    return images.transpose(0, 2, 1, 3, 4).reshape(num_latent * h, num_steps * w, c)


def save_png(path: str, image: np.ndarray) -> str:
    """Writes a float image in [0, 1] ``(H, W, C)`` as an 8-bit PNG; returns the path."""
    import tensorflow as tf

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    data = np.clip(np.rint(np.asarray(image) * 255.0), 0, 255).astype(np.uint8)
    tf.io.write_file(path, tf.io.encode_png(data))
    return path


def plot_reduction(path: str, codes: np.ndarray, latents: Sequence, kept: Optional[np.ndarray],
                   latent_ids: Sequence[int]) -> Optional[str]:
    """Fig. 3 style plot, one panel per active latent: sorted codes, their gaps, the peaks
    and the kept points. Returns the path, or None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        logger.info("matplotlib not installed (pip install 'rpu_tf[viz]'): skipping %s.", path)
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
        ax.set_ylabel(f"z{latent_ids[j]}")
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
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
