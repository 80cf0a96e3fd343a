"""The paper's Fig. 4: each method's MIG and DCI Disentanglement beside the baselines.

One panel per (metric, data set): a box plot with the points of every method, the six
disentanglement_lib baselines first (grey) and the other methods (rPU-VAE, PBT-VAE, your
own) after them in colour.
"""

from __future__ import annotations

from typing import Optional, Sequence

from rpu_tf.results.scores import (BASELINES, SCORE_KEYS, Score, display_name,
                                    method_order)
from rpu_tf.visualize.dependencies import pyplot
from rpu_tf.visualize.distributions import ACCENT_COLOURS, BASELINE_COLOUR, box_with_points, score_grid
from rpu_tf.visualize.images import save_figure


def plot_comparison(scores: Sequence[Score], path: str, metrics: Sequence[str] = ("mig", "dci"),
                    title: Optional[str] = None) -> str:
    """Writes the comparison figure of ``scores`` to ``path`` (png, pdf, svg by extension).

    Raises:
      ValueError: no scores (nothing to plot).
    """
    datasets, metrics = score_grid(scores, metrics, "the aggregated results")
    plt = pyplot()
    methods = method_order(s.method for s in scores)
    accents = iter(ACCENT_COLOURS * (1 + len(methods) // len(ACCENT_COLOURS)))
    colours = [BASELINE_COLOUR if m in BASELINES else next(accents) for m in methods]
    size = (max(3.2, 0.55 * len(methods) + 1.2) * len(datasets), 2.7 * len(metrics) + 0.6)
    figure, axes = plt.subplots(len(metrics), len(datasets), squeeze=False, figsize=size,
                                sharey="row")
    for row, metric in enumerate(metrics):
        for col, dataset in enumerate(datasets):
            groups = [[s.value for s in scores
                       if s.dataset == dataset and s.metric == metric and s.method == m]
                      for m in methods]
            ax = axes[row][col]
            box_with_points(ax, groups, [display_name(m) for m in methods], colours,
                            seed=row * 1000 + col)
            if row == 0:
                ax.set_title(dataset, fontsize=10)
            if col == 0:
                ax.set_ylabel(SCORE_KEYS[metric][0], fontsize=9)
            ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    return save_figure(figure, path)
