"""Box plots with the individual points on top, shared by the comparison and leaf-run figures."""

from __future__ import annotations

from typing import Sequence

import numpy as np

#: Colour of the disentanglement_lib baselines; other methods get the accent colours.
BASELINE_COLOUR = "#9e9e9e"
ACCENT_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def box_with_points(axes, groups: Sequence[Sequence[float]], labels: Sequence[str],
                    colours: Sequence[str], seed: int = 0) -> None:
    """One box (median, quartiles, 1.5 IQR whiskers) per group, its points jittered on top.

    Args:
      axes: a matplotlib Axes.
      groups: the values of each group (empty groups leave an empty slot).
      labels: x tick label of each group.
      colours: face colour of each group.
      seed: seeds the horizontal jitter (figures are reproducible).
    """
    positions = np.arange(1, len(groups) + 1)
    filled = [i for i, g in enumerate(groups) if len(g)]
    if filled:
        boxes = axes.boxplot([list(groups[i]) for i in filled], positions=positions[filled],
                             widths=0.6, patch_artist=True, showfliers=False,
                             medianprops={"color": "black", "linewidth": 1.5})
        for patch, i in zip(boxes["boxes"], filled):
            patch.set_facecolor(colours[i])
            patch.set_alpha(0.45)
    rng = np.random.RandomState(seed)
    for i, values in enumerate(groups):
        values = np.asarray(values, dtype=np.float64)
        jitter = rng.uniform(-0.15, 0.15, size=values.shape)
        axes.scatter(positions[i] + jitter, values, s=14, color=colours[i], edgecolors="black",
                     linewidths=0.4, zorder=3)
    axes.set_xticks(positions)
    axes.set_xticklabels(labels, rotation=35, ha="right", fontsize=8)
    axes.set_xlim(0.4, len(groups) + 0.6)
    axes.grid(axis="y", alpha=0.3)


def score_grid(scores: Sequence, metrics: Sequence[str], what: str) -> tuple[list[str], list[str]]:
    """``(datasets, metrics)`` of a figure with a panel per metric and data set: the metrics
    that have scores, in the given order. Raises ValueError without scores (``what`` says
    where none were found)."""
    if not scores:
        raise ValueError(f"No scores to plot: {what} hold no rows with the metrics {', '.join(metrics)} for "
                         "the chosen representation.")
    return sorted({s.dataset for s in scores}), [m for m in metrics if any(s.metric == m for s in scores)]
