"""Studies: the spec's checks, the run plan, stage sharing, and a tiny study end to end
(in-process launcher): budget, resume, a failing method, UDR selection and the report."""

import json
import os

import numpy as np
import pytest

from rpu_tf.layout.budget import run_training_images
from rpu_tf.studies import (Method, Study, StudyStatus, in_process_launcher, plan_runs, run_study, share_stages,
                            write_report)
from rpu_tf.studies.runner import BUDGET_FILE, train_job

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(ROOT, "gin_configs")

pytestmark = pytest.mark.usefixtures("clean_gin")


def _rpu(**kw):
    return Method("rPU-VAE", kind="rpu_vae", configs=("quickstart.gin",), seed_binding="rpu_vae.seed = {seed}",
                  leaf_runs=(0, 1), **kw)


def _single(name, beta, bindings=(), **kw):
    return Method(name, configs=("quickstart_single_model.gin",), bindings=(f"beta_tc_vae.beta = {beta}",) + bindings,
                  seed_binding="model.random_seed = {seed}", budget_binding="model.training_steps = {units}",
                  budget_unit_images=32, group="beta-TCVAE", **kw)


def test_spec_checks_say_what_is_wrong():
    with pytest.raises(ValueError, match="kind"):
        Method("a", kind="sweep", configs=("x.gin",), seed_binding="s = {seed}")
    with pytest.raises(ValueError, match="seed_binding"):
        Method("a", configs=("x.gin",), seed_binding="model.random_seed = 0")
    with pytest.raises(ValueError, match="budget_binding"):
        Method("a", configs=("x.gin",), seed_binding="s = {seed}", budget_binding="model.training_steps = 9")
    with pytest.raises(ValueError, match="unique"):
        Study("s", (0,), (_single("a", 1), _single("a", 2)), (), budget_images=10)
    with pytest.raises(ValueError, match="select_from"):
        Study("s", (0,), (_single("a", 1), Method("sel", kind="udr_selection", select_from=("b",))), (),
              budget_images=10)
    with pytest.raises(ValueError, match="budget"):
        Study("s", (0,), (_single("a", 1),), ())  # no rPU-VAE to measure the budget from
    assert _single("a", 1).budget_units(65) == 3  # rounded up: never less than the budget


def test_plan_runs_puts_the_budget_setting_rpu_vae_first(tmp_path):
    study = Study("s", (0, 1), (_single("b1", 1), _rpu()), ())
    runs = plan_runs(study, str(tmp_path))
    assert [(r.name, r.seed) for r in runs] == [
        ("rPU-VAE (1 leaf-run)", 0), ("rPU-VAE (1 leaf-run)", 1), ("rPU-VAE (0 leaf-runs)", 0),
        ("rPU-VAE (0 leaf-runs)", 1), ("b1", 0), ("b1", 1)]
    assert runs[0].label == "rPU-VAE" and runs[2].label == "rPU-VAE (0 leaf-runs)" and runs[4].label == "beta-TCVAE"
    assert len({r.run_dir for r in runs}) == len(runs)
    job = train_job(study, runs[4], budget_images=100)
    assert "model.random_seed = 0" in job.bindings and "model.training_steps = 4" in job.bindings
    assert job.configs == (os.path.normpath(os.path.join(".", "quickstart_single_model.gin")),)


def test_share_stages_keeps_the_first_leaf_runs_and_drops_the_final(tmp_path):
    source, target = tmp_path / "src", tmp_path / "dst"
    stages = {"initial": None, "leaf1_meta1": 1, "leaf2_meta1": 2}
    for name in stages:
        (source / "stages" / name / "pbt").mkdir(parents=True)
        (source / "stages" / name / "labels.npz").write_bytes(b"x")
    manifest = {"stages": {n: {"name": n, "leaf_run": lr} for n, lr in stages.items()},
                "leaf_runs": [[1], [2]], "final": {"best_score": 0.5}}
    (source / "manifest.json").write_text(json.dumps(manifest))
    share_stages(str(source), str(target), 1)
    shared = json.loads((target / "manifest.json").read_text())
    assert sorted(shared["stages"]) == ["initial", "leaf1_meta1"] and shared["final"] is None
    assert sorted(os.listdir(target / "stages")) == ["initial", "leaf1_meta1"]
    assert (target / "stages" / "initial" / "labels.npz").read_bytes() == b"x"


TINY_RPU = (
    "sprites.num_scales = 2", "sprites.num_orientations = 2", "encoder.num_latent = 4", "pbt_vae.num_replicas = 2",
    "vae_hyperparameters.batch_sizes = [32]", "udr_score.num_data_points = 100",
    *[f"{s}pbt_vae.generation_images = 256" for s in ("metaepoch/initial/", "metaepoch/leaf/", "final/")],
    *[f"{s}pbt_stopping.max_generations = 2" for s in ("metaepoch/initial/", "metaepoch/leaf/", "final/")],
    "rpu_vae.udr_threshold = 0.0", "rpu_vae.evaluate_final = False", "active_latents.active_kl_threshold = 1e-4",
    "surrogate_mig_score.num_train = 100", "reduction.gap_smoothing_fraction = 0.0")
TINY_SINGLE = ("sprites.image_size = 32", "sprites.num_scales = 2", "sprites.num_orientations = 2",
               "sprites.num_positions_x = 8", "sprites.num_positions_y = 8", "encoder.num_latent = 4",
               "model.batch_size = 32", "model.eval_steps = 1")


def _tiny_metrics(folder):
    mig = folder / "mig.gin"
    mig.write_text('evaluation.evaluation_fn = @mig\ndataset.name = "auto"\nevaluation.random_seed = 0\n'
                   "mig.num_train = 200\ndiscretizer.discretizer_fn = @histogram_discretizer\n"
                   "discretizer.num_bins = 20\n")
    dci = folder / "dci.gin"
    dci.write_text('evaluation.evaluation_fn = @dci\ndataset.name = "auto"\nevaluation.random_seed = 0\n'
                   "dci.num_train = 200\ndci.num_test = 100\n")
    return (str(mig), str(dci))


def test_a_tiny_study_runs_resumes_survives_a_failure_and_reports(tmp_path):
    metrics = _tiny_metrics(tmp_path)
    methods = (_rpu(bindings=TINY_RPU), _single("b1", 1.0, TINY_SINGLE), _single("b6", 6.0, TINY_SINGLE),
               _single("broken", 2.0, TINY_SINGLE + ("no_such_configurable.x = 1",)),
               Method("UDR selection", kind="udr_selection", select_from=("b1", "b6")))
    study = Study("tiny", (0, 1), methods, metrics, base_dir=CONFIGS)
    study_dir = str(tmp_path / "study")
    status = run_study(study, study_dir, launcher=in_process_launcher)
    states = {k: v["state"] for k, v in status.entries.items()}
    assert states.pop("broken/seed0") == "failed" and states.pop("broken/seed1") == "failed"
    assert set(states.values()) == {"done"} and len(states) == 8  # 2 x (rPU L1, L0, b1, b6)
    assert "see" in status.get("broken/seed0")["error"]
    # The budget: the most images an rPU-VAE seed (1 leaf-run) used; each baseline got at least that.
    budget = json.load(open(os.path.join(study_dir, BUDGET_FILE)))["budget_images"]
    rpu_images = [status.get(f"rpu_vae_1_leaf_run/seed{s}")["training_images"] for s in (0, 1)]
    assert budget == max(rpu_images) > 0
    for seed in (0, 1):
        assert budget <= status.get(f"b1/seed{seed}")["training_images"] < budget + 32
        # The 0-leaf-run variant reused the 1-leaf-run run's initial metaEpoch and trained a final of its own.
        l0 = status.get(f"rpu_vae_0_leaf_runs/seed{seed}")
        manifest = json.load(open(os.path.join(l0["run_dir"], "manifest.json")))
        assert sorted(manifest["stages"]) == ["initial"] and manifest["final"] is not None
        parts0 = run_training_images(l0["run_dir"])
        parts1 = run_training_images(status.get(f"rpu_vae_1_leaf_run/seed{seed}")["run_dir"])
        assert parts0["initial"] == parts1["initial"] > 0 and not any(k.startswith("leaf") for k in parts0)
        assert l0["training_images"] == parts0["total"] == parts0["initial"] + parts0["final"]
        assert os.path.exists(os.path.join(l0["run_dir"], "metrics", "mean", "mig", "results", "aggregate",
                                           "evaluation.json"))
    # Again: nothing is trained twice; the failure is retried (and fails again).
    before = {k: v.get("wall_seconds") for k, v in status.entries.items() if v["state"] == "done"}
    again = run_study(study, study_dir, launcher=in_process_launcher)
    assert {k: again.get(k).get("wall_seconds") for k in before} == before
    # The report: Fig. 4, Fig. 6, and the tables with every seed, the selection included.
    written = write_report(study, study_dir)
    for key in ("fig4", "fig6", "table"):
        assert os.path.getsize(written[key]) > 100
    table = open(written["table"]).read()
    for row in ("| rPU-VAE | 2 |", "| beta-TCVAE | 4 |", "| UDR selection | 2 |", "| rPU-VAE (0 leaf-runs) | 2 |"):
        assert row in table
    selection = json.load(open(os.path.join(study_dir, "selection.json")))["UDR selection"]
    assert set(selection["chosen"].values()) <= {"b1", "b6"}
    assert all(0.0 <= v <= 1.0 for per_seed in selection["udr"].values() for v in per_seed.values())
    assert StudyStatus(study_dir).get("broken/seed1")["state"] == "failed"
    assert np.isfinite(float(table.split("| rPU-VAE | 2 | ")[1].split(" |")[0]))


def test_the_cpu_study_file_names_the_issues_methods():
    from rpu_tf.cli.study import load_study

    study = load_study(os.path.join(CONFIGS, "studies", "sprites_cpu.gin"))
    assert study.seeds == (0, 1, 2) and study.budget_images is None
    by_name = {m.name: m for m in study.methods}
    sweep = [m for m in study.methods if m.label == "beta-TCVAE"]
    assert sorted(float(m.bindings[0].split("=")[1]) for m in sweep) == [1, 2, 4, 6, 8, 10]
    assert all(m.budget_binding == "model.training_steps = {units}" and m.budget_unit_images == 64 for m in sweep)
    assert by_name["rPU-VAE"].leaf_runs == (0, 1, 2, 3) and by_name["rPU-VAE"].budget_binding is None
    assert set(by_name["UDR selection"].select_from) == {m.name for m in sweep}
    assert {"PBT-U-VAE (UDR)", "PBT-S-VAE (MIG)"} <= set(by_name)
    for m in study.methods:
        for config in m.configs:
            assert os.path.isfile(os.path.join(study.base_dir, config)), config
