"""Score against the number of leaf-runs (the paper's Fig. 6).

Input: rPU-VAE run directories, each evaluated with ``rpu_evaluate`` (so it holds
``metrics/<representation>/<metric>/results/aggregate/evaluation.json``), each with the
number of leaf-runs it was trained with, given as ``COUNT:RUN_DIR`` (``2:runs/dsp_seed0_2``).
The figure has one panel per (metric, data set): a box with the points of every run per
leaf-run count.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional, Sequence

from rpu_tf.layout import paths
from rpu_tf.results.aggregate import aggregate_results
from rpu_tf.results.scores import SCORE_KEYS, Score, extract_scores
from rpu_tf.visualize.dependencies import pyplot
from rpu_tf.visualize.distributions import box_with_points, score_grid
from rpu_tf.visualize.images import save_figure

LEAF_RUN_COLOUR = "#d62728"


@dataclasses.dataclass(frozen=True)
class LeafRunSpec:
    """A run directory and the number of leaf-runs it was trained with."""

    count: int
    run_dir: str


def parse_leaf_run_spec(spec: str) -> LeafRunSpec:
    """``"COUNT:RUN_DIR"`` -> :class:`LeafRunSpec`."""
    count, sep, run_dir = spec.partition(":")
    if not sep or not count.strip().isdigit() or not run_dir:
        raise ValueError(f"Leaf-run spec {spec!r} is not COUNT:RUN_DIR (e.g. 2:runs/dsp_seed0).")
    return LeafRunSpec(int(count), run_dir)


def collect_leaf_run_scores(specs: Sequence[LeafRunSpec], metrics: Sequence[str] = ("mig", "dci"),
                            representation: Optional[str] = "mean") -> list[Score]:
    """The scores of every run, with ``method`` set to its leaf-run count.

    Raises:
      FileNotFoundError: a run directory has no evaluation results (run rpu_evaluate).
    """
    if not specs:
        raise ValueError("Give at least one COUNT:RUN_DIR.")
    scores: list[Score] = []
    for spec in specs:
        if not os.path.isdir(spec.run_dir):
            raise FileNotFoundError(f"Run directory {spec.run_dir} does not exist.")
        try:
            rows = aggregate_results([os.path.join(spec.run_dir, paths.METRICS_DIR)])
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{spec.run_dir} has no evaluation results (metrics/*/*/results/aggregate/"
                f"evaluation.json); run rpu_evaluate --model_dir={spec.run_dir} "
                "--gin_config=gin_configs/metrics/fig4.txt first.") from None
        scores += extract_scores(rows, metrics, representation, label=str(spec.count),
                                 source=spec.run_dir)
    return scores


def plot_leaf_runs(scores: Sequence[Score], path: str, metrics: Sequence[str] = ("mig", "dci"),
                   title: Optional[str] = None) -> str:
    """Writes the figure (score per leaf-run count) of ``scores`` to ``path``."""
    datasets, metrics = score_grid(scores, metrics, "the runs")
    plt = pyplot()
    counts = sorted({int(s.method) for s in scores})
    figure, axes = plt.subplots(len(metrics), len(datasets), squeeze=False, sharey="row",
                                figsize=(max(3.0, 0.7 * len(counts) + 1.4) * len(datasets),
                                         2.5 * len(metrics) + 0.6))
    for row, metric in enumerate(metrics):
        for col, dataset in enumerate(datasets):
            groups = [[s.value for s in scores if s.dataset == dataset and s.metric == metric
                       and int(s.method) == c] for c in counts]
            ax = axes[row][col]
            box_with_points(ax, groups, [str(c) for c in counts], [LEAF_RUN_COLOUR] * len(counts),
                            seed=row * 1000 + col)
            ax.set_xticklabels([str(c) for c in counts], rotation=0, ha="center")
            if row == len(metrics) - 1:
                ax.set_xlabel("number of leaf-runs", fontsize=9)
            if row == 0:
                ax.set_title(dataset, fontsize=10)
            if col == 0:
                ax.set_ylabel(SCORE_KEYS[metric][0], fontsize=9)
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    return save_figure(figure, path)
