"""One rPU-VAE run's metaEpochs on one page (the paper's Fig. 5), from what its stages wrote.

Each metaEpoch drew ``stages/<stage>/traversals.png`` when it finished (latents labelled with
their KL and, on labelled data, the factor they track; :mod:`rpu_tf.visualize.stages`), and
``summary.json`` lists the stages in order with their data set sizes and tracked factors.
:func:`plot_run_stages` stacks those figures, one panel per metaEpoch, each titled with what
it learned, so a reader sees the recursion at a glance: the factors of the initial metaEpoch,
then what each leaf-run found on its reduced data set.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Mapping, Optional

from rpu_tf.layout import paths
from rpu_tf.layout.run_state import read_summary
from rpu_tf.visualize.dependencies import MissingDependencyError, pyplot
from rpu_tf.visualize.images import save_figure

logger = logging.getLogger(__name__)


def stage_caption(stage: Mapping[str, Any]) -> str:
    """One line for a metaEpoch of ``summary.json``: name, data set size, best UDR, and per
    active latent the factor it tracks (or why the branch ended)."""
    text = f"{stage['name']}: {int(stage['dataset_size']):,} images, UDR {float(stage['best_score']):.2f}"
    tracked = [f"z{int(t['latent'])} {t['factor']}" for t in stage.get("factor_tracked") or ()]
    if tracked:
        text += "; " + ", ".join(tracked)
    elif not stage.get("active_latents"):
        text += "; no active latent"
    if stage.get("kept_size") is not None:
        text += f"; kept {int(stage['kept_size']):,}"
    return text


def plot_run_stages(run_dir: str, path: str, title: str) -> Optional[str]:
    """Writes the metaEpochs' traversal figures of the finished rPU-VAE run in ``run_dir``
    one below the other to ``path`` (PNG); returns ``path``, or None when the run has no
    ``summary.json`` or no traversal figure, or matplotlib is missing (logged)."""
    summary = read_summary(run_dir)
    if summary is None:
        logger.info("No Fig. 5 for %s: it has no %s yet.", run_dir, paths.SUMMARY_FILE)
        return None
    panels = [(stage_caption(stage), os.path.join(paths.stage_dir(run_dir, stage["name"]), paths.TRAVERSALS_FIGURE))
              for stage in summary.get("stages", [])]
    panels = [(caption, figure) for caption, figure in panels if os.path.isfile(figure)]
    if not panels:
        logger.info("No Fig. 5 for %s: its stages drew no traversals (matplotlib was missing when it ran?).",
                    run_dir)
        return None
    try:
        plt = pyplot()
    except MissingDependencyError as error:
        logger.info("No Fig. 5 for %s: %s", run_dir, error)
        return None
    images = [plt.imread(figure) for _, figure in panels]
    width = 8.0
    heights = [width * image.shape[0] / image.shape[1] for image in images]
    fig, axes = plt.subplots(len(images), 1, figsize=(width, sum(heights) + 0.4 * len(images) + 0.6),
                             gridspec_kw={"height_ratios": heights}, squeeze=False, layout="constrained")
    for ax, image, (caption, _) in zip(axes[:, 0], images, panels):
        ax.imshow(image)
        ax.set_title(caption, fontsize=9, loc="left")
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
