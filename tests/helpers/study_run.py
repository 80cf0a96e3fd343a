"""Runs a tiny study in a fresh interpreter (for tests/test_studies.py); prints one JSON line.

Run as ``python tests/helpers/study_run.py WORK_DIR``: the study (WORK_DIR/study) has rPU-VAE with 0
and 1 leaf-runs, the same with the paper's final stage from scratch on its stages, two beta-TCVAE methods at the measured budget (one train_group: per seed trained together), one method whose gin config
is broken and a UDR selection over the two, 2 seeds, every run in this process
(``in_process_launcher``). It runs the study twice (the second must train nothing new) and
writes the report. A fresh process keeps the gin registry free of disentanglement_lib's
metric names, which other test modules import (``@mig`` would be ambiguous there).
"""

from __future__ import annotations

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = os.path.join(ROOT, "gin_configs")

# Two latents and peaks 1 std above the median gap, a quarter of the points apart, as in
# tests/helpers/rpu_run.py: a cut on every CPU, so every seed has its leaf-run (with 4 latents
# and the paper's reduction a seed's 4 active latents can leave no set of 6 points to keep).
TINY_RPU = (
    "sprites.num_scales = 2", "sprites.num_orientations = 2", "encoder.num_latent = 2", "pbt_vae.num_replicas = 2",
    "reduction.peak_height_std = 1.0", "reduction.min_peak_distance_fraction = 0.25",
    "vae_hyperparameters.batch_sizes = [32]", "udr_score.num_data_points = 100",
    *[f"{s}pbt_vae.generation_images = 128" for s in ("metaepoch/initial/", "metaepoch/leaf/", "final/")],
    *[f"{s}pbt_stopping.max_generations = 2" for s in ("metaepoch/initial/", "metaepoch/leaf/", "final/")],
    "rpu_vae.udr_threshold = 0.0", "rpu_vae.evaluate_final = False", "active_latents.active_kl_threshold = 1e-4",
    "surrogate_mig_score.num_train = 100", "training.progress = False")
TINY_SINGLE = ("sprites.image_size = 32", "sprites.num_scales = 2", "sprites.num_orientations = 2",
               "sprites.num_positions_x = 8", "sprites.num_positions_y = 8", "encoder.num_latent = 4",
               "model.batch_size = 32", "model.eval_steps = 1", "training.progress = False")


def _tiny_metrics(folder: str) -> tuple[str, str]:
    mig, dci = os.path.join(folder, "mig.gin"), os.path.join(folder, "dci.gin")
    with open(mig, "w") as f:
        f.write('evaluation.evaluation_fn = @mig\ndataset.name = "auto"\nevaluation.random_seed = 0\n'
                "mig.num_train = 200\ndiscretizer.discretizer_fn = @histogram_discretizer\n"
                "discretizer.num_bins = 20\n")
    with open(dci, "w") as f:
        f.write('evaluation.evaluation_fn = @dci\ndataset.name = "auto"\nevaluation.random_seed = 0\n'
                "dci.num_train = 200\ndci.num_test = 100\n")
    return mig, dci


def main(work_dir: str) -> dict:
    sys.path.insert(0, ROOT)
    from rpu_tf.studies import Method, Study, in_process_launcher, run_study, write_report

    def single(name, beta, extra=(), train_group=None):
        return Method(name, configs=("quickstart_single_model.gin",),
                      bindings=(f"beta_tc_vae.beta = {beta}",) + TINY_SINGLE + tuple(extra),
                      seed_binding="model.random_seed = {seed}", budget_binding="model.training_steps = {units}",
                      budget_unit_images=32, group="beta-TCVAE", train_group=train_group)

    methods = (Method("rPU-VAE", kind="rpu_vae", configs=("quickstart.gin",), bindings=TINY_RPU,
                      seed_binding="rpu_vae.seed = {seed}", leaf_runs=(0, 1)),
               Method("rPU-VAE paper final", kind="rpu_vae", configs=("quickstart.gin",),
                      bindings=TINY_RPU + ('rpu_vae.final_warm_start = "none"',), seed_binding="rpu_vae.seed = {seed}",
                      leaf_runs=(0, 1), stages_from="rPU-VAE"),
               single("b1", 1.0, train_group="sweep"), single("b6", 6.0, train_group="sweep"),
               single("broken", 2.0, ("no_such_configurable.x = 1",)),
               Method("UDR selection", kind="udr_selection", select_from=("b1", "b6")))
    study = Study("tiny", (0, 1), methods, _tiny_metrics(work_dir), base_dir=CONFIGS)
    study_dir = os.path.join(work_dir, "study")
    first = dict(run_study(study, study_dir, launcher=in_process_launcher).entries)
    again = dict(run_study(study, study_dir, launcher=in_process_launcher).entries)
    return {"first": first, "again": again, "written": write_report(study, study_dir)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
