"""Latent traversals: grids of decoded codes that vary one latent at a time, and the value
cycles of disentanglement_lib's animated traversals."""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
from scipy import stats

Decoder = Callable[[np.ndarray], np.ndarray]  # codes (N, D) -> images (N, H, W, C) in [0, 1]

#: disentanglement_lib's default traversal values.
DEFAULT_VALUES = np.linspace(-1.0, 1.0, 11)


def traversal_grid(decode: Decoder, code: np.ndarray, dimensions: Optional[np.ndarray] = None,
                   values: Optional[np.ndarray] = None) -> np.ndarray:
    """One column per latent dimension, one row per value (disentanglement_lib's
    ``latent_traversal_1d_multi_dim`` without ``transpose``).

    Args:
      decode: codes ``(N, D)`` -> images ``(N, H, W, C)`` in [0, 1].
      code: the base code ``(D,)``.
      dimensions: latents to vary (default all).
      values: the values a varied latent takes (default ``linspace(-1, 1, 11)``).

    Returns:
      ``(len(values) * H, len(dimensions) * W, C)``.
    """
    code = np.asarray(code, dtype=np.float32)
    if code.ndim != 1:
        raise ValueError(f"The base code must be 1-dimensional, got shape {code.shape}.")
    dimensions = np.arange(code.shape[0]) if dimensions is None else np.asarray(dimensions)
    values = DEFAULT_VALUES if values is None else np.asarray(values)
    columns = []
    for dimension in dimensions:
        codes = np.tile(code, [len(values), 1])
        codes[:, dimension] = values
        columns.append(np.concatenate(list(decode(codes)), axis=0))
    return np.concatenate(columns, axis=1)


def _triangle(start: float, num_frames: int) -> np.ndarray:
    """``num_frames`` points going from ``start`` in [0, 1] to 1, down to 0 and back."""
    grid = np.linspace(start, start + 2.0, num=num_frames, endpoint=False)
    grid -= np.maximum(0, 2 * grid - 2)
    grid += np.maximum(0, -2 * grid)
    return grid


def cycle_gaussian(start: float, num_frames: int, loc: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """A cycle through the quantiles (0.001 to 0.999) of N(loc, scale^2), from ``start``."""
    grid = _triangle(float(stats.norm.cdf(start, loc=loc, scale=scale)), num_frames)
    return stats.norm.ppf(np.clip(grid, 0.001, 0.999), loc=loc, scale=scale)


def cycle_interval(start: float, num_frames: int, low: float, high: float) -> np.ndarray:
    """A linear cycle through [low, high], from ``start``."""
    if high <= low:
        return np.full(num_frames, low, dtype=np.float64)
    return _triangle((start - low) / (high - low), num_frames) * (high - low) + low
