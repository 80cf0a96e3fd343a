"""Trains, evaluates and visualizes one tiny model in a fresh interpreter (for the tests).

Run as ``python tests/helpers/evaluation_run.py WORK_DIR``; prints one JSON line with the exit code
of every CLI call. A fresh process keeps the gin registry free of disentanglement_lib's
metric names, which other test modules import (``@mig`` would be ambiguous there).

Steps (WORK_DIR/run is the run directory):
  train      train_with_gin: beta-TCVAE, 4 latents, sprites grid 3x6x2x4x4, 60 steps
  evaluate   rpu_evaluate with mig.gin and dci.gin (tiny sizes), mean and sampled
  again      the same command again: refused, outputs exist
  sap        sap_score.gin on mean only: reuses postprocessed/mean
  stale      sap_score.gin on sampled with another postprocess seed: refused
  visualize  rpu_visualize with one animation of 4 frames
"""

from __future__ import annotations

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
METRICS = os.path.join(ROOT, "gin_configs", "metrics")
TRAIN_BINDINGS = [
    "model.training_steps = 60", "model.batch_size = 16", "model.eval_steps = 2",
    "encoder.num_latent = 4", "beta_tc_vae.beta = 1.", "vae/AdamOptimizer.learning_rate = 0.003",
    "sprites.num_orientations = 2", "sprites.num_positions_x = 4", "sprites.num_positions_y = 4",
    "training.progress = False",
]
SMALL = ["--gin_bindings=mig.num_train = 300", "--gin_bindings=dci.num_train = 100",
         "--gin_bindings=dci.num_test = 50", "--gin_bindings=sap_score.num_train = 100",
         "--gin_bindings=sap_score.num_test = 50"]


def main(work_dir: str) -> dict:
    sys.path.insert(0, ROOT)
    from rpu_tf.cli import evaluate, visualize
    from rpu_tf.pipelines.single_model import train_with_gin

    run = os.path.join(work_dir, "run")
    train_with_gin(run, False, [os.path.join(ROOT, "gin_configs", "baselines", "beta_tc_vae.gin")],
                   TRAIN_BINDINGS)
    evaluate_argv = ["rpu_evaluate", f"--model_dir={run}",
                     f"--gin_config={os.path.join(METRICS, 'mig.gin')}",
                     f"--gin_config={os.path.join(METRICS, 'dci.gin')}"] + SMALL
    codes = {"evaluate": evaluate.main(evaluate_argv)}
    codes["again"] = evaluate.main(evaluate_argv)
    sap = ["rpu_evaluate", f"--model_dir={run}", f"--gin_config={os.path.join(METRICS, 'sap_score.gin')}"]
    codes["sap"] = evaluate.main(sap + SMALL + ["--representations=mean"])
    codes["stale"] = evaluate.main(sap + SMALL + ["--representations=sampled",
                                                  "--gin_bindings=postprocess.random_seed = 5"])
    codes["visualize"] = visualize.main(["rpu_visualize", f"--model_dir={run}",
                                         "--num_animations=1", "--num_frames=4"])
    codes["visualize_kept"] = _failed_overwrite_keeps(run, visualize)
    return codes


def _failed_overwrite_keeps(run: str, visualize) -> bool:
    """``rpu_visualize --overwrite`` that fails at its last figure (the disk fills up) leaves
    the previous visualizations byte for byte."""
    import hashlib

    from rpu_tf.visualize import model as visualize_model

    def digests() -> dict:
        out = os.path.join(run, "visualizations")
        return {os.path.relpath(os.path.join(d, n), out): hashlib.sha256(open(os.path.join(d, n), "rb").read()).digest()
                for d, _, files in os.walk(out) for n in files}

    before, plot = digests(), visualize_model.plot_latent_overview

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    visualize_model.plot_latent_overview = full_disk
    try:
        code = visualize.main(["rpu_visualize", f"--model_dir={run}", "--num_animations=1", "--num_frames=4",
                               "--overwrite"])
    finally:
        visualize_model.plot_latent_overview = plot
    leftovers = [n for n in os.listdir(run) if n.startswith(".visualizations")]
    return code != 0 and digests() == before and bool(before) and not leftovers


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
