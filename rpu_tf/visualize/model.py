"""What a trained model learned: reconstructions, samples, latent traversals, animations.

disentanglement_lib's ``visualize_model.visualize`` with its folder layout, written as PNG
(lossless) instead of JPEG and without the logo footer and the interventional-effects plots::

    output_dir/reconstructions/reconstructions.png   64 pairs (data | reconstruction), 8x8 grid
    output_dir/sampled/samples.png                   decodes of 64 codes ~ N(0, I)
    output_dir/traversals/traversals{i}.png          code of data point i, one column per
                                                     latent, rows: values -1 .. 1 (11)
    output_dir/traversals/latents.png                all latents of data point 0 as rows,
                                                     labelled with their KL to the prior;
                                                     inactive latents at reduced contrast
                                                     (the paper's Figs. 2 and 5)
    output_dir/animated_traversals/{kind}{i}.gif     every latent cycling at once, one panel
                                                     each; kinds: std_gaussian_cycle,
                                                     fitted_gaussian_cycle, fixed_interval_cycle,
                                                     conf_interval_cycle, minmax_interval_cycle

The data set is the training one (``train.gin``'s data-set bindings), the decoder's outputs
pass through the training ``reconstruction_loss.activation`` (sigmoid for ``'logits'``,
``tanh/2 + 1/2`` for ``'tanh'``), and ``np.random.RandomState(random_seed)`` draws the data
points and codes in disentanglement_lib's order.
"""

from __future__ import annotations

import logging
import os
from typing import Callable, Mapping, Optional

import gin
import numpy as np
from scipy import special

from rpu_tf.data import named_data
from rpu_tf.evaluation import saved_models
from rpu_tf.evaluation.auto_dataset import config_bindings, dataset_bindings
from rpu_tf.evaluation.model_dirs import locate_model, replaced_output
from rpu_tf.metrics.latent_codes import active_latents
from rpu_tf.training.representation import gaussian_kl_per_latent
from rpu_tf.visualize import traversals
from rpu_tf.visualize.dependencies import pyplot
from rpu_tf.visualize.images import grid, pad_around, padded_grid, save_figure, save_gif, save_png
from rpu_tf.utils.gin_imports import imports_refused

logger = logging.getLogger(__name__)

ANIMATIONS = ("std_gaussian_cycle", "fitted_gaussian_cycle", "fixed_interval_cycle",
              "conf_interval_cycle", "minmax_interval_cycle")
NUM_PICS = 64


def model_activation(train_gin: str) -> Callable[[np.ndarray], np.ndarray]:
    """The decoder's output activation of the training config (``reconstruction_loss.activation``)."""
    value = config_bindings(train_gin).get("reconstruction_loss.activation", "'logits'")
    if value.strip("'\"") == "logits":
        return special.expit
    if value.strip("'\"") == "tanh":
        return lambda x: np.tanh(x) / 2.0 + 0.5
    raise ValueError(f"Unknown reconstruction_loss.activation {value} in {train_gin}; "
                     "expected 'logits' or 'tanh'.")


def training_dataset(train_gin: str):
    """The data set a model was trained on, built from ``train.gin``'s data-set bindings."""
    bindings = dataset_bindings(train_gin)
    if "dataset.name" not in bindings:
        raise ValueError(f"{train_gin} binds no dataset.name.")
    with imports_refused():  # values read from a run file
        gin.parse_config([f"{key} = {value}" for key, value in bindings.items()])
    try:
        return named_data.get_named_ground_truth_data()
    finally:
        gin.clear_config()


def _cycle(kind: str, base: float, num_frames: int, means: np.ndarray,
           logvars: np.ndarray) -> np.ndarray:
    """The values latent ``j`` (columns ``means[:, j]``) takes in animation ``kind``."""
    loc = float(np.mean(means))
    scale = float(np.sqrt(np.mean(np.exp(logvars)) + np.var(means)))
    if kind == "std_gaussian_cycle":
        return traversals.cycle_gaussian(base, num_frames)
    if kind == "fitted_gaussian_cycle":
        return traversals.cycle_gaussian(base, num_frames, loc=loc, scale=scale)
    if kind == "fixed_interval_cycle":
        return traversals.cycle_interval(base, num_frames, -2.0, 2.0)
    if kind == "conf_interval_cycle":
        return traversals.cycle_interval(base, num_frames, loc - 2.0 * scale, loc + 2.0 * scale)
    if kind == "minmax_interval_cycle":
        return traversals.cycle_interval(base, num_frames, float(np.min(means)), float(np.max(means)))
    raise ValueError(f"Unknown animation {kind!r}; known: {', '.join(ANIMATIONS)}.")


def animation_frames(decode, base_code: np.ndarray, kind: str, num_frames: int,
                     means: np.ndarray, logvars: np.ndarray) -> list[np.ndarray]:
    """Frames in which every latent of ``base_code`` cycles (one panel per latent)."""
    num_latent = base_code.shape[0]
    codes = np.repeat(base_code[None, None, :], num_latent, axis=0).repeat(num_frames, axis=1)
    for j in range(num_latent):
        codes[j, :, j] = _cycle(kind, float(base_code[j]), num_frames, means[:, j], logvars[:, j])
    images = decode(codes.reshape(num_latent * num_frames, num_latent))
    images = images.reshape((num_latent, num_frames) + images.shape[1:])
    return [pad_around(padded_grid([images[j, t] for j in range(num_latent)]))
            for t in range(num_frames)]


def plot_latent_overview(decode, code: np.ndarray, kl: np.ndarray, active: np.ndarray,
                         path: str, values: Optional[np.ndarray] = None,
                         factors: Optional[Mapping[int, str]] = None, title: Optional[str] = None) -> str:
    """Traversal of every latent of ``code`` as a row, labelled ``z<j>`` (0-based, as the
    code's columns, the logs and ``summary.json`` number them), its KL (nats) and, where
    ``factors`` names one, the ground-truth factor it tracks (the paper's Fig. 5); latents not
    in ``active`` are drawn at a third of the contrast."""
    plt = pyplot()
    values = traversals.DEFAULT_VALUES if values is None else np.asarray(values)
    active_set = set(np.asarray(active).tolist())
    rows = []
    for j in range(code.shape[0]):
        codes = np.tile(np.asarray(code, np.float32), [len(values), 1])
        codes[:, j] = values
        row = np.concatenate(list(decode(codes)), axis=1)  # values left to right
        rows.append(row if j in active_set else 0.5 + (row - 0.5) / 3.0)
    image = np.clip(np.concatenate(rows, axis=0), 0.0, 1.0)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    height = image.shape[0] / code.shape[0]
    figure, axes = plt.subplots(figsize=(1.0 + 0.5 * len(values), 0.5 * code.shape[0] + 0.6))
    axes.imshow(image, interpolation="nearest")
    axes.set_yticks([(j + 0.5) * height for j in range(code.shape[0])])
    factors = dict(factors or {})
    axes.set_yticklabels([f"z{j}  KL {kl[j]:.2f}" + (" *" if j in active_set else "")
                          + (f"  {factors[j]}" if j in factors else "") for j in range(code.shape[0])], fontsize=8)
    width = image.shape[1] / len(values)
    axes.set_xticks([(k + 0.5) * width for k in range(len(values))])
    axes.set_xticklabels([f"{v:g}" for v in values], fontsize=7)
    axes.set_title(title or "Latent traversals (* active)", fontsize=9)
    return save_figure(figure, path)


def save_reconstructions(path: str, images: np.ndarray, reconstruct, activation) -> str:
    """disentanglement_lib's reconstructions figure: each of ``images`` beside its
    reconstruction (``reconstruct``: images -> ``{"images": decoder outputs}``, passed
    through ``activation``), pairs in a square grid (:func:`~rpu_tf.visualize.images.grid`)."""
    pairs = np.concatenate([images, activation(reconstruct(images)["images"])], axis=2)
    return save_png(grid(list(pairs)), path)


def visualize(model_dir: str, output_dir: Optional[str] = None, overwrite: bool = False,
              num_animations: int = 5, num_frames: int = 20, fps: float = 10.0,
              random_seed: int = 0, num_kl_points: int = 1000) -> dict[str, list[str]]:
    """Writes the visualizations of the model in ``model_dir`` (see the module docstring).

    Args:
      model_dir: a run directory (``rpu_train --model_dir``) or its ``model/`` folder.
      output_dir: default ``RUN/visualizations``.
      overwrite: replace an existing ``output_dir``.
      num_animations: data points whose codes are animated (per kind).
      num_frames: frames per animation; fps: their frame rate.
      random_seed: seeds the drawn data points and codes.
      num_kl_points: data points for the per-latent KL of the overview.

    Returns:
      ``{folder: [files]}`` of what was written.
    """
    model = locate_model(model_dir)
    output_dir = output_dir or model.visualizations_dir
    written: dict[str, list[str]] = {}
    with replaced_output(output_dir, overwrite, marker="reconstructions") as staging:  # old kept on failure
        _write(model, staging, output_dir, written, num_animations, num_frames, fps, random_seed, num_kl_points)
    logger.info("Wrote %d visualizations of %s to %s.", sum(map(len, written.values())),
                model.model_dir, output_dir)
    return written


def _write(model, staging: str, output_dir: str, written: dict[str, list[str]], num_animations: int,
           num_frames: int, fps: float, random_seed: int, num_kl_points: int) -> None:
    """Writes :func:`visualize`'s files into ``staging``, recording in ``written`` the paths
    they will have in ``output_dir`` once the staging folder replaces it."""
    dataset = training_dataset(model.train_gin)
    activation = model_activation(model.train_gin)
    loaded = saved_models.load(model.saved_model, ("gaussian_encoder", "decoder", "reconstructions"))
    encode = saved_models.gaussian_encoder_function(loaded)
    reconstruct = saved_models.numpy_function(loaded.signatures["reconstructions"], "images")
    decoder = saved_models.decoder_function(loaded)

    def decode(codes: np.ndarray) -> np.ndarray:
        return activation(decoder(np.asarray(codes, np.float32)))

    num_latent = int(saved_models.input_shape(loaded.signatures["decoder"])[1])
    random_state = np.random.RandomState(random_seed)

    def out(folder: str, name: str) -> str:
        written.setdefault(folder, []).append(os.path.join(output_dir, folder, name))
        return os.path.join(staging, folder, name)

    save_reconstructions(out("reconstructions", "reconstructions.png"),
                         dataset.sample_observations(NUM_PICS, random_state), reconstruct, activation)

    codes = random_state.normal(0, 1, [NUM_PICS, num_latent])
    save_png(grid(list(decode(codes))), out("sampled", "samples.png"))

    encoded = encode(dataset.sample_observations(NUM_PICS, random_state))
    means, logvars = encoded["mean"], encoded["logvar"]
    for i in range(min(num_latent, NUM_PICS)):
        save_png(traversals.traversal_grid(decode, means[i]), out("traversals", f"traversals{i}.png"))

    for kind in ANIMATIONS:
        for i, base_code in enumerate(means[:num_animations]):
            frames = animation_frames(decode, base_code, kind, num_frames, means, logvars)
            save_gif(frames, out("animated_traversals", f"{kind}{i}.gif"), fps)

    kl_points = encode(dataset.sample_observations(num_kl_points, random_state))
    kl = gaussian_kl_per_latent(kl_points["mean"], kl_points["logvar"])
    plot_latent_overview(decode, means[0], kl, active_latents(kl), out("traversals", "latents.png"))
