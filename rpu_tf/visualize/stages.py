"""Figures of an rPU-VAE metaEpoch, drawn from what the stage wrote to its folder.

- ``stages/<stage>/traversals.png``: latent traversals of the stage's first observation
  through its best replica (paper Fig. 5), one row per latent labelled ``z<j>`` (0-based)
  with its KL and, for an active latent of labelled data, the factor it tracks (the most
  mutual information, normalised by the factor's entropy), active latents at full contrast;
- ``stages/<stage>/reconstructions.png``: 64 of the stage's images (drawn with seed 0)
  beside their reconstructions through its best replica, as ``rpu_visualize`` draws them;
- ``stages/<stage>/reduction.png``: per active latent the sorted codes, their gaps, the
  peaks and the kept points (Fig. 3); only when the stage had surrogate labels.

They need matplotlib and pillow (``pip install 'rpu_tf[viz]'``); without them they are
skipped with a log line. :func:`figures_to_tensorboard` shows them as TensorBoard images.
"""

from __future__ import annotations

import logging
import os
from typing import Mapping, Optional, Sequence

import numpy as np

from rpu_tf.data.ground_truth_data import FiniteGroundTruthData
from rpu_tf.evaluation import saved_models
from rpu_tf.evaluation.ground_truth import factors_tracked
from rpu_tf.layout import paths, rpu_files
from rpu_tf.metrics.latent_codes import smoothed_gaps
from rpu_tf.training.summaries import SummaryWriter
from rpu_tf.visualize.dependencies import MissingDependencyError, pyplot
from rpu_tf.visualize.images import save_figure
from rpu_tf.visualize.model import NUM_PICS, model_activation, plot_latent_overview, save_reconstructions

logger = logging.getLogger(__name__)


def draw_stage_figures(run_dir: str, name: str, data: FiniteGroundTruthData) -> list[str]:
    """Draws the figures of stage ``name`` of the run in ``run_dir`` (``data``: the root data
    set); returns the files written."""
    stage = rpu_files.read_stage_labels(run_dir, name)
    folder = paths.stage_dir(run_dir, name)
    tracked = {}
    if stage.labels is not None and data.num_factors > 0:
        for entry in factors_tracked(data, stage.root_indices, stage.labels, stage.active.tolist()):
            nmi = entry["normalized_mutual_information"][entry["factor"]]
            tracked[int(entry["latent"])] = f"{entry['factor']} (nMI {nmi:.2f})"
    model_dir = os.path.join(folder, paths.MODEL_DIR)
    drawn = np.random.RandomState(0).choice(stage.root_indices.size, min(NUM_PICS, stage.root_indices.size),
                                            replace=False)
    written = [save_traversals(os.path.join(folder, paths.TRAVERSALS_FIGURE), model_dir,
                               data.observations_from_indices(stage.root_indices[:1])[0], stage.kl, stage.active,
                               tracked, f"{name}: traversals of the best replica (* active)"),
               save_stage_reconstructions(os.path.join(folder, paths.RECONSTRUCTIONS_FIGURE), model_dir,
                                          data.observations_from_indices(stage.root_indices[np.sort(drawn)]))]
    if stage.labels is not None:
        reduction = [stage.reduction.get(str(j), {}) for j in range(stage.labels.shape[1])]
        written.append(plot_reduction(os.path.join(folder, paths.REDUCTION_FIGURE), stage.labels,
                                      [r.get("peaks", np.zeros(0, np.int64)) for r in reduction],
                                      [float(r.get("threshold", np.inf)) for r in reduction],
                                      stage.kept, stage.active.tolist(),
                                      [int(r.get("gap_window", 1)) for r in reduction]))
    return [path for path in written if path is not None]


def save_traversals(path: str, model_dir: str, observation: np.ndarray, kl: np.ndarray,
                    active: Sequence[int], factors: Optional[Mapping[int, str]] = None,
                    title: Optional[str] = None) -> Optional[str]:
    """Latent traversals of ``observation`` through the model in ``model_dir`` (a ``model/``
    folder), rows named with ``factors`` (``{latent: text}``). Returns the path, or None when
    matplotlib is not installed."""
    loaded = saved_models.load(os.path.join(model_dir, paths.SAVED_MODEL_DIR), ("gaussian_encoder", "decoder"))
    code = saved_models.gaussian_encoder_function(loaded)(np.asarray(observation, np.float32)[None])["mean"][0]
    decoder = saved_models.decoder_function(loaded)
    activation = model_activation(paths.step_gin(paths.results_dir(model_dir), "train"))
    try:
        return plot_latent_overview(lambda codes: activation(decoder(np.asarray(codes, np.float32))), code,
                                    np.asarray(kl), np.asarray(active, np.int64), path, factors=factors,
                                    title=title)
    except MissingDependencyError as error:
        logger.info("%s: skipping %s.", error, path)
        return None


def save_stage_reconstructions(path: str, model_dir: str, images: np.ndarray) -> Optional[str]:
    """``images`` beside their reconstructions through the model in ``model_dir`` (a
    ``model/`` folder). Returns the path, or None when pillow is not installed."""
    loaded = saved_models.load(os.path.join(model_dir, paths.SAVED_MODEL_DIR), ("reconstructions",))
    reconstruct = saved_models.numpy_function(loaded.signatures["reconstructions"], "images")
    try:
        return save_reconstructions(path, images, reconstruct,
                                    model_activation(paths.step_gin(paths.results_dir(model_dir), "train")))
    except MissingDependencyError as error:
        logger.info("%s: skipping %s.", error, path)
        return None


def figures_to_tensorboard(run_dir: str, name: str, files: Sequence[str], step: int = 0) -> None:
    """Shows stage ``name``'s figures (PNG ``files``, as :func:`draw_stage_figures` returns
    them) as TensorBoard images in ``stages/<name>/tensorboard/figures/`` at ``step``, each
    tagged with its file name (``traversals``, ``reconstructions``, ``reduction``)."""
    writer = SummaryWriter(os.path.join(paths.stage_dir(run_dir, name), paths.TENSORBOARD_DIR, paths.FIGURES_BOARD))
    try:
        for path in files:
            with open(path, "rb") as f:
                writer.write_png(step, os.path.splitext(os.path.basename(path))[0], f.read())
    finally:
        writer.close()


def plot_reduction(path: str, codes: np.ndarray, peaks: Sequence[np.ndarray], thresholds: Sequence[float],
                   kept: Optional[np.ndarray], latent_ids: Sequence[int],
                   gap_windows: Optional[Sequence[int]] = None) -> Optional[str]:
    """Fig. 3 style plot, one panel per active latent: sorted codes, their gaps (averaged over
    ``gap_windows[j]`` neighbours when the reduction smoothed them), the peaks (positions in
    the gaps) and the kept points. Returns the path, or None without matplotlib."""
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
        order = np.argsort(codes[:, j], kind="stable")
        sorted_codes = codes[order, j]
        ax.plot(sorted_codes, color="tab:green", lw=1.5, label="sorted code")
        ax.set_ylabel(f"z{latent_ids[j]}")  # 0-based, as in the traversals, logs and summary
        in_kept = np.flatnonzero(kept_mask[order])
        if in_kept.size:
            ax.axvspan(in_kept.min(), in_kept.max(), color="tab:red", alpha=0.15, label="kept")
        twin = ax.twinx()
        window = int(gap_windows[j]) if gap_windows is not None and j < len(gap_windows) else 1
        gaps = smoothed_gaps(np.diff(sorted_codes), window)
        twin.plot(np.arange(gaps.size) + 0.5, gaps, color="tab:blue", lw=0.8,
                  label="gap (derivative)" if window <= 1 else f"gap, mean of {window}")
        latent_peaks = np.asarray(peaks[j], np.int64) if j < len(peaks) else np.zeros(0, np.int64)
        if latent_peaks.size:
            twin.plot(latent_peaks + 0.5, gaps[latent_peaks], "x", color="tab:red", label="peaks")
            if j < len(thresholds) and np.isfinite(thresholds[j]):
                twin.axhline(thresholds[j], color="tab:gray", ls="--", lw=0.8, label="peak threshold")
        twin.set_ylabel("gap")
        ax.set_xlabel("position in sorted order")
        handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        ax.legend(handles, [h.get_label() for h in handles], loc="upper left", fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)
