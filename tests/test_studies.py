"""Studies: the spec's checks, the run plan, stage sharing, and a tiny study end to end
(in-process launcher): budget, resume, a failing method, UDR selection and the report."""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rpu_tf.layout.run_state import copy_stages, run_training_images
from rpu_tf.studies import Method, Study, plan_runs
from rpu_tf.studies.runner import BUDGET_FILE, train_job

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(ROOT, "gin_configs")

pytestmark = pytest.mark.usefixtures("clean_gin")


def _rpu(**kw):
    return Method("rPU-VAE", kind="rpu_vae", configs=("quickstart.gin",), seed_binding="rpu_vae.seed = {seed}",
                  leaf_runs=(0, 1), **kw)


def _single(name, beta, bindings=(), **kw):
    kw = {"budget_unit_images": 32, **kw}
    return Method(name, configs=("quickstart_single_model.gin",), bindings=(f"beta_tc_vae.beta = {beta}",) + bindings,
                  seed_binding="model.random_seed = {seed}", budget_binding="model.training_steps = {units}",
                  group="beta-TCVAE", **kw)


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
        Study("s", (0, 1), (_single("a", 1), Method("sel", kind="udr_selection", select_from=("b",))), (),
              budget_images=10)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        Study("s", (0,), (_single("a", 1), Method("sel", kind="udr_selection", select_from=("a",))), (),
              budget_images=10)
    with pytest.raises(ValueError, match="budget"):
        Study("s", (0,), (_single("a", 1),), ())  # no rPU-VAE to measure the budget from
    with pytest.raises(ValueError, match="must share configs"):
        Study("s", (0,), (_single("a", 1, train_group="g"), _single("b", 2, train_group="g", budget_unit_images=64)),
              (), budget_images=10)
    with pytest.raises(ValueError, match="only 'train' methods"):
        _rpu(train_group="g")
    with pytest.raises(ValueError, match="stages_from"):
        _single("a", 1, stages_from="rPU-VAE")
    with pytest.raises(ValueError, match="stages_from='nope' must name an rpu_vae method"):
        Study("s", (0,), (_rpu(), Method("p", kind="rpu_vae", configs=("q.gin",), seed_binding="s = {seed}",
                                         leaf_runs=(0,), stages_from="nope")), ())
    with pytest.raises(ValueError, match="at least as many leaf-runs"):
        Study("s", (0,), (_rpu(), Method("p", kind="rpu_vae", configs=("q.gin",), seed_binding="s = {seed}",
                                         leaf_runs=(0, 2), stages_from="rPU-VAE")), ())
    for representations in (("sampled",), ("mean", "median"), ("mean", "mean"), ()):
        with pytest.raises(ValueError, match="representations must be distinct names"):
            Study("s", (0,), (_single("a", 1),), (), budget_images=10, representations=representations)
    assert _single("a", 1).budget_units(65) == 3  # rounded up: never less than the budget


def test_runs_are_evaluated_on_the_studys_representations():
    from rpu_tf.studies.jobs import EvaluateJob

    assert EvaluateJob("r", ("m.gin",)).argv() == ["--model_dir=r", "--representations=mean", "--overwrite",
                                                     "--gin_config=m.gin"]
    assert "--representations=mean,sampled" in EvaluateJob("r", ("m.gin",), ("mean", "sampled")).argv()


def test_a_run_is_evaluated_when_every_metric_has_every_representation(tmp_path):
    from rpu_tf.studies.plan import evaluate_job, is_evaluated

    study = Study("s", (0,), (_single("a", 1),), ("m/mig.gin", "m/dci.gin"), budget_images=10,
                  representations=("mean", "sampled"), base_dir=str(tmp_path))
    run = str(tmp_path / "run")
    job = evaluate_job(study, run)
    assert job.representations == ("mean", "sampled") and job.metrics == (str(tmp_path / "m" / "mig.gin"),
                                                                           str(tmp_path / "m" / "dci.gin"))
    for representation in ("mean", "sampled"):
        for metric in ("mig", "dci"):
            assert not is_evaluated(study, run)
            folder = tmp_path / "run" / "metrics" / representation / metric / "results" / "aggregate"
            folder.mkdir(parents=True)
            (folder / "evaluation.json").write_text("{}")
    assert is_evaluated(study, run) and is_evaluated(dataclasses.replace(study, representations=("mean",)), run)


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


def test_a_stopped_single_model_resumes_from_its_checkpoint_and_anything_else_starts_again(tmp_path):
    from rpu_tf.studies.runner import TrainTogetherJob
    from rpu_tf.training import checkpoints

    study = Study("s", (0, 1, 2), (_single("b1", 1, train_group="g"),), (), budget_images=640)
    fresh, stopped, foreign = plan_runs(study, str(tmp_path))
    checkpoints.claim(stopped.run_dir, "model.training_steps = 20\n")  # what a kill mid-training leaves
    os.makedirs(foreign.run_dir)
    open(os.path.join(foreign.run_dir, "notes.txt"), "w").write("not a run")
    jobs = [train_job(study, run, budget_images=640) for run in (fresh, stopped, foreign)]
    assert [job.overwrite for job in jobs] == [False, False, True]
    assert "--overwrite" not in TrainTogetherJob(tuple(jobs[:2])).argv()  # the stopped mate resumes
    assert "--overwrite" in TrainTogetherJob(tuple(jobs)).argv()


def test_the_study_precision_is_chosen_once_and_runs_left_at_auto_get_it(tmp_path):
    import dataclasses

    from rpu_tf.studies.study_precision import study_precision

    study_dir = str(tmp_path / "study")
    os.makedirs(study_dir)
    assert study_precision("float32", study_dir, []) == "float32"
    # "auto" on a later invocation (another machine) keeps the record; another pin is refused
    assert study_precision("auto", study_dir, []) == "float32"
    with pytest.raises(ValueError, match=r'trains in float32 .*study.precision = .mixed_bfloat16. would mix'):
        study_precision("mixed_bfloat16", study_dir, [])
    with pytest.raises(ValueError, match="Unknown study.precision"):
        study_precision("fp8", study_dir, [])
    own = 'training.precision = "mixed_float16"'
    study = dataclasses.replace(Study("s", (0,), (_single("b1", 1), _single("b2", 2, (own,))), (), budget_images=64),
                                precision="float32")
    auto, pinned = (train_job(study, run, 64) for run in plan_runs(study, study_dir))
    assert auto.bindings[-1] == 'training.precision = "float32"'  # its config says "auto"
    assert [b for b in pinned.bindings if b.startswith("training.precision")] == [own]  # a run's own setting stays


def test_a_study_without_a_precision_record_takes_what_its_runs_trained_in(tmp_path):
    from rpu_tf.layout import paths
    from rpu_tf.studies.study_precision import study_precision
    from rpu_tf.utils.state_files import save_state

    def finished(run_dir, precision):
        results = paths.step_results_json(paths.results_dir(os.path.join(run_dir, "model")), "train")
        os.makedirs(os.path.dirname(results))
        json.dump({"precision": precision}, open(results, "w"))

    def stopped(run_dir, precision):  # a single model's checkpoint: its state's config says
        config = json.dumps({"model_config": {"precision": precision}})
        os.makedirs(paths.training_checkpoint_dir(run_dir))
        save_state(paths.training_state_file(run_dir), {"config": np.asarray(config)})

    for name, (first, second) in {"same": ("float32", "float32"), "mixed": ("float32", "mixed_bfloat16"),
                                  "pinned": ("mixed_bfloat16", "mixed_bfloat16")}.items():
        study_dir = str(tmp_path / name)
        runs = [os.path.join(study_dir, "runs", m) for m in ("a", "b", "never_started")]
        finished(runs[0], first)
        stopped(runs[1], second)
        if name == "same":
            assert study_precision("auto", study_dir, runs) == "float32"
            assert json.load(open(os.path.join(study_dir, "precision.json")))["precision"] == "float32"
        elif name == "mixed":
            with pytest.raises(ValueError, match="trained in different precisions"):
                study_precision("auto", study_dir, runs)
        else:  # a pin that contradicts what the runs trained in is refused before anything is recorded
            with pytest.raises(ValueError, match=r"trains in mixed_bfloat16 \(the precision its runs trained in"):
                study_precision("float32", study_dir, runs)
            assert not os.path.exists(os.path.join(study_dir, "precision.json"))


def test_copy_stages_keeps_the_first_leaf_runs_and_drops_the_final(tmp_path):
    source, target = tmp_path / "src", tmp_path / "dst"
    stages = {"initial": None, "leaf1_meta1": 1, "leaf2_meta1": 2}
    for name in stages:
        (source / "stages" / name / "pbt").mkdir(parents=True)
        (source / "stages" / name / "labels.npz").write_bytes(b"x")
    manifest = {"stages": {n: {"name": n, "leaf_run": lr} for n, lr in stages.items()},
                "leaf_runs": [[1], [2]], "final": {"best_score": 0.5}}
    (source / "manifest.json").write_text(json.dumps(manifest))
    copy_stages(str(source), str(target), 1)
    shared = json.loads((target / "manifest.json").read_text())
    assert sorted(shared["stages"]) == ["initial", "leaf1_meta1"] and shared["final"] is None
    assert sorted(os.listdir(target / "stages")) == ["initial", "leaf1_meta1"]
    assert (target / "stages" / "initial" / "labels.npz").read_bytes() == b"x"


@pytest.mark.slow
def test_a_tiny_study_runs_resumes_survives_a_failure_and_reports(tmp_path):
    # In a fresh interpreter (tests/helpers/study_run.py), as rpu_study runs it, but with every run in
    # that one process: other test modules import disentanglement_lib's metrics, whose gin
    # names (@mig, ...) would make the metric configs ambiguous here.
    study_dir = str(tmp_path / "study")
    done = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "helpers", "study_run.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    first, again, written = out["first"], out["again"], out["written"]
    states = {k: v["state"] for k, v in first.items()}
    assert states.pop("broken/seed0") == "failed" and states.pop("broken/seed1") == "failed"
    assert set(states.values()) == {"done"} and len(states) == 12  # 2 x (rPU L1, L0, paper L1, L0, b1, b6)
    assert "see" in first["broken/seed0"]["error"]
    # The budget: the most images an rPU-VAE seed (1 leaf-run) used; each baseline got at least that.
    budget = json.load(open(os.path.join(study_dir, BUDGET_FILE)))["budget_images"]
    rpu_images = [first[f"rpu_vae_1_leaf_run/seed{s}"]["training_images"] for s in (0, 1)]
    assert budget == max(rpu_images) > 0
    for seed in (0, 1):
        assert budget <= first[f"b1/seed{seed}"]["training_images"] < budget + 32
        # b1 and b6 share a train_group: per seed one replica group, its time split between them.
        for name in ("b1", "b6"):
            results = json.load(open(os.path.join(first[f"{name}/seed{seed}"]["run_dir"], "model", "results", "json",
                                                  "train_results.json")))
            assert results["trained_together"] == 2 and first[f"{name}/seed{seed}"]["wall_seconds"] > 0
            # every run trained in the precision the study chose at its first invocation
            assert results["precision"] == json.load(open(os.path.join(study_dir, "precision.json")))["precision"]
        # The 0-leaf-run variant reused the 1-leaf-run run's initial metaEpoch, trained a final of its own.
        l0 = first[f"rpu_vae_0_leaf_runs/seed{seed}"]
        manifest = json.load(open(os.path.join(l0["run_dir"], "manifest.json")))
        assert sorted(manifest["stages"]) == ["initial"] and manifest["final"] is not None
        parts0 = run_training_images(l0["run_dir"])
        parts1 = run_training_images(first[f"rpu_vae_1_leaf_run/seed{seed}"]["run_dir"])
        assert parts0["initial"] == parts1["initial"] > 0 and not any(k.startswith("leaf") for k in parts0)
        assert l0["training_images"] == parts0["total"] == parts0["initial"] + parts0["final"]
        assert os.path.exists(os.path.join(l0["run_dir"], "metrics", "mean", "mig", "results", "aggregate",
                                           "evaluation.json"))
        # The paper's final stage (from scratch) on the same stages: both of its variants reuse the
        # rPU-VAE runs' stages and train only a final of their own, which starts from nothing.
        for count, suffix in ((0, "0_leaf_runs"), (1, "1_leaf_run")):
            paper = first[f"rpu_vae_paper_final_{suffix}/seed{seed}"]
            ours = first[f"rpu_vae_{suffix}/seed{seed}"]
            manifest = json.load(open(os.path.join(paper["run_dir"], "manifest.json")))
            assert len(manifest["stages"]) == 1 + count and manifest["final"] is not None
            shared = json.load(open(os.path.join(ours["run_dir"], "manifest.json")))["stages"]
            assert manifest["stages"] == shared
            parts = run_training_images(paper["run_dir"])
            assert parts["initial"] == parts1["initial"] and paper["training_images"] == parts["total"]
            assert paper["wall_seconds"] < ours["wall_seconds"] or count == 0  # its own final stage only
    # Again: nothing finished is trained twice; the failure is retried (and fails again).
    for key, entry in first.items():
        if entry["state"] == "done":
            assert again[key]["wall_seconds"] == entry["wall_seconds"], key
    assert again["broken/seed1"]["state"] == "failed"
    # The report: Fig. 4, Fig. 6, and the tables with every seed, the selection included.
    for key in ("fig4", "fig6", "table", "fig5_rpu_vae_seed0", "fig5_rpu_vae_seed1"):
        assert os.path.getsize(written[key]) > 100
    assert not any(key.startswith("fig5_rpu_vae_paper") for key in written)  # it trains no stages of its own
    table = open(written["table"]).read()
    assert "**rPU-VAE, seed 1** ([fig5_rpu_vae_seed1.png](fig5_rpu_vae_seed1.png)):\n\n- initial: " in table
    for row in ("| rPU-VAE | 2 |", "| beta-TCVAE | 4 |", "| UDR selection | 2 |", "| rPU-VAE (0 leaf-runs) | 2 |"):
        assert row in table
    assert np.isfinite(float(table.split("| rPU-VAE | 2 | ")[1].split(" |")[0]))
    selection = json.load(open(os.path.join(study_dir, "selection.json")))["UDR selection"]
    assert set(selection["chosen"].values()) <= {"b1", "b6"}
    assert all(0.0 <= v <= 1.0 for per_seed in selection["udr"].values() for v in per_seed.values())


def test_the_cpu_study_file_names_the_issues_methods():
    from rpu_tf.cli.study import load_study

    study = load_study(os.path.join(CONFIGS, "studies", "sprites_cpu.gin"))
    assert study.seeds == (0, 1, 2) and study.budget_images is None
    by_name = {m.name: m for m in study.methods}
    sweep = [m for m in study.methods if m.label == "beta-TCVAE"]
    assert sorted(float(m.bindings[0].split("=")[1]) for m in sweep) == [1, 2, 4, 6, 8, 10]
    assert all(m.budget_binding == "model.training_steps = {units}" and m.budget_unit_images == 64 for m in sweep)
    assert {m.train_group for m in sweep} == {"beta_sweep"}  # per seed, one replica group
    assert by_name["rPU-VAE"].leaf_runs == (0, 1, 2, 3) and by_name["rPU-VAE"].budget_binding is None
    assert set(by_name["UDR selection"].select_from) == {m.name for m in sweep}
    assert {"PBT-U-VAE (UDR)", "PBT-S-VAE (MIG)"} <= set(by_name)
    assert "supervision.num_labelled = 1000" in by_name["beta-TCVAE + 1000 labels"].bindings
    for m in study.methods:
        for config in m.configs:
            assert os.path.isfile(os.path.join(study.base_dir, config)), config


def test_the_benchmark_study_runs_both_final_stages_on_the_same_metaepochs_of_colour_sprites(clean_gin):
    import gin

    import rpu_tf.pipelines  # noqa: F401 -- registers rpu_vae and the stages' configurables
    from rpu_tf.cli.study import load_study
    from rpu_tf.utils.gin_files import parse_gin

    study = load_study(os.path.join(CONFIGS, "studies", "color_sprites_cpu.gin"))
    assert study.seeds == (0, 1, 2) and study.common_bindings == ('dataset.name = "color_sprites"',)
    by_name = {m.name: m for m in study.methods}
    ours, paper = by_name["rPU-VAE"], by_name["rPU-VAE, paper final"]
    assert ours.leaf_runs == paper.leaf_runs == (0, 1, 2) and paper.stages_from == "rPU-VAE"
    assert 'rpu_vae.final_warm_start = "none"' in paper.bindings and study.stage_donor(paper) is ours
    assert {"beta-TCVAE", "UDR selection", "PBT-U-VAE (UDR)", "PBT-S-VAE (MIG)", "1000 labels"} <= {
        m.label for m in study.methods}
    gin.clear_config()  # the rPU-VAE config includes the quickstart, which includes its neighbour
    parse_gin([os.path.join(study.base_dir, ours.configs[0])], [])
    assert gin.query_parameter("dataset.name") == "color_sprites"
    assert gin.query_parameter("rpu_vae.final_warm_start") == "initial"
    assert gin.query_parameter("pbt_vae.num_replicas") == 3  # the quickstart's settings


@pytest.mark.parametrize("name", ["sprites_full_32", "noisy_sprites_32", "color_sprites_32", "sprites_64"])
def test_each_calibration_candidate_runs_the_sweep_and_the_upper_bound_on_its_data(name):
    from rpu_tf.cli.study import load_study

    study = load_study(os.path.join(CONFIGS, "studies", "calibration", f"{name}.gin"))
    sweep = [m for m in study.methods if m.label == "beta-TCVAE"]
    assert sorted(float(m.bindings[0].split("=")[1]) for m in sweep) == [1, 2, 4, 6, 8, 10]
    assert {m.train_group for m in sweep} == {"beta_sweep"} and study.seeds == (0,)
    assert "PBT-S-VAE (MIG)" in {m.name for m in study.methods} and study.budget_images > 0
    assert study.common_bindings  # the candidate's data
    for path in [c for m in study.methods for c in m.configs] + list(study.metrics):
        assert os.path.isfile(os.path.join(study.base_dir, path)), path
    assert any(m.endswith("mig_gaps.gin") for m in study.metrics)


@pytest.mark.parametrize("name", ["paper_dsprites", "paper_shapes3d"])
def test_the_paper_scale_studies_use_the_paper_configs_and_ray(name):
    from rpu_tf.cli.study import load_study

    study = load_study(os.path.join(CONFIGS, "studies", f"{name}.gin"))
    assert study.seeds == (0, 1, 2, 3, 4)
    by_name = {m.name: m for m in study.methods}
    assert by_name["rPU-VAE"].configs == (f"../rpu_vae/{name.split('_')[1]}.gin",)
    assert by_name["rPU-VAE"].leaf_runs == (0, 1, 2, 3)
    assert 'pbt_vae.executor = "ray"' in by_name["PBT-U-VAE (UDR)"].bindings
    assert 'ray_executor.address = "auto"' in study.common_bindings
    job = train_job(study, plan_runs(study, "/tmp/unused")[0], None)
    assert 'ray_executor.address = "auto"' in job.bindings and "rpu_vae.max_leaf_runs = 3" in job.bindings
    # the paper's float32 for every run: the rPU-VAE config sets it, the others get it
    assert study.precision == "float32"
    runs = plan_runs(study, "/tmp/unused")
    rpu, sweep = (train_job(study, next(r for r in runs if r.method.name.startswith(n)), None)
                  for n in ("rPU-VAE", "beta-TCVAE"))
    assert not any(b.startswith("training.precision") for b in rpu.bindings)
    assert sweep.bindings[-1] == 'training.precision = "float32"'
    for m in study.methods:
        for config in m.configs:
            assert os.path.isfile(os.path.join(study.base_dir, config)), config


class _FakeLauncher:
    """Stands in for the subprocesses: writes what a trained / evaluated run leaves; each
    training job advances the fake ``clock`` by 10 s; the train_group job fails when
    ``fail_together``."""

    def __init__(self, fail_together=False):
        self.fail_together, self.calls, self.clock = fail_together, [], [0.0]

    def _trained(self, model_dir):
        from rpu_tf.layout import paths

        model = os.path.join(model_dir, paths.MODEL_DIR)
        os.makedirs(os.path.join(model, paths.SAVED_MODEL_DIR), exist_ok=True)
        results = paths.step_results_json(paths.results_dir(model), "train")
        os.makedirs(os.path.dirname(results), exist_ok=True)
        json.dump({"training_images": 64}, open(results, "w"))

    def __call__(self, job, log):
        from rpu_tf.layout import paths
        from rpu_tf.studies.runner import TrainJob, TrainTogetherJob

        self.calls.append((type(job).__name__, len(getattr(job, "jobs", ())) or None))
        if isinstance(job, TrainTogetherJob):
            self.clock[0] += 10.0
            if self.fail_together:
                return 1
            for one in job.jobs:
                self._trained(one.model_dir)
        elif isinstance(job, TrainJob):
            self.clock[0] += 10.0
            self._trained(job.model_dir)
        else:
            for metric in ("mig", "dci"):
                aggregate = paths.step_aggregate_json(paths.results_dir(paths.metric_dir(job.model_dir, "mean", metric)),
                                                      "evaluation")
                os.makedirs(os.path.dirname(aggregate), exist_ok=True)
                open(aggregate, "w").write("{}")
        return 0


@pytest.mark.parametrize("fail_together", [False, True])
def test_a_train_group_trains_in_one_job_splits_its_time_and_falls_back_to_alone(tmp_path, fail_together,
                                                                                  monkeypatch):
    from rpu_tf.studies import run_study, runner

    study = Study("s", (0,), (_single("a", 1, train_group="g"), _single("b", 2, train_group="g")),
                  ("mig.gin", "dci.gin"), budget_images=64)
    launcher = _FakeLauncher(fail_together)
    monkeypatch.setattr(runner.time, "time", lambda: launcher.clock[0])  # the launcher's clock, not real time
    status = run_study(study, str(tmp_path), launcher=launcher)
    assert {status.get(k)["state"] for k in ("a/seed0", "b/seed0")} == {"done"}
    if not fail_together:
        assert launcher.calls == [("TrainTogetherJob", 2), ("EvaluateJob", None), ("EvaluateJob", None)]
        walls = [status.get(k)["wall_seconds"] for k in ("a/seed0", "b/seed0")]
        assert walls == [5.0, 5.0]  # one 10 s job, split evenly
    else:  # the group job failed: each run trained alone
        assert launcher.calls == [("TrainTogetherJob", 2), ("TrainJob", None), ("EvaluateJob", None),
                                  ("TrainJob", None), ("EvaluateJob", None)]


def test_the_time_of_an_attempt_that_was_killed_still_counts(tmp_path, monkeypatch):
    from rpu_tf.studies import run_study, runner

    study = Study("s", (0,), (_single("a", 1, train_group="g"), _single("b", 2, train_group="g")),
                  ("mig.gin",), budget_images=64)
    launcher = _FakeLauncher()
    monkeypatch.setattr(runner.time, "time", lambda: launcher.clock[0])

    def killed(job, log):  # the invocation dies in the middle of the group's training
        os.makedirs(os.path.dirname(log), exist_ok=True)  # as the subprocess launcher does
        open(log, "a").write("step 1000 of 2000\n")
        os.utime(log, (40.0, 40.0))  # its last write, 40 s after the attempt started (clock 0)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_study(study, str(tmp_path), launcher=killed)
    left = json.load(open(tmp_path / "status.json"))
    assert {key: entry["attempt"]["share"] for key, entry in left.items()} == {"a/seed0": 0.5, "b/seed0": 0.5}
    status = run_study(study, str(tmp_path), launcher=launcher)  # the group job now takes 10 s
    assert [status.get(k)["wall_seconds"] for k in ("a/seed0", "b/seed0")] == [25.0, 25.0]  # 40/2 + 10/2
    assert all(status.get(k)["state"] == "done" and status.get(k)["attempt"] is None for k in ("a/seed0", "b/seed0"))


def test_the_report_states_the_budget_as_a_sentence(tmp_path):
    from rpu_tf.studies.report import budget_sentence

    assert budget_sentence(str(tmp_path)) == "Budget: not measured yet."
    with open(tmp_path / BUDGET_FILE, "w") as f:
        json.dump({"budget_images": 1584050, "source": "max over seeds of rPU-VAE (3 leaf-runs)",
                   "per_seed": {"rpu/seed0": 1584023, "rpu/seed1": 1584050}, "seeds": [0, 1]}, f)
    assert budget_sentence(str(tmp_path)) == ("Budget: 1,584,050 training images per model (max over seeds of "
                                              "rPU-VAE (3 leaf-runs); rpu/seed0 1,584,023, rpu/seed1 1,584,050).")


def test_the_report_lists_per_factor_gaps_and_every_run_as_json():
    from rpu_tf.results.scores import Score
    from rpu_tf.studies.report import RunResult, gaps_table, results_json
    from rpu_tf.studies.spec import Study, study_method

    def run(name, seed, mig, gaps=(), leaf_runs=None):
        scores = (Score("sprites", name, "mig", mig), Score("sprites", name, "dci", 0.4))
        return RunResult(name, name, seed, f"/runs/{name}{seed}", 1000, 12.5, leaf_runs, scores, gaps)

    results = [run("beta-TCVAE beta=4", 0, 0.3, (("position_x", 0.61), ("scale", 0.05))),
               run("PBT-S-VAE (MIG)", 0, 0.5, (("position_x", 0.9), ("shape", 0.4))),
               run("rPU-VAE (1 leaf-run)", 0, float("nan"), leaf_runs=1)]
    table = gaps_table(results)
    assert table.splitlines()[0] == "| method | seed | MIG | position_x | scale | shape |"
    assert "| beta-TCVAE beta=4 | 0 | 0.300 | 0.61 | 0.05 | — |" in table and "rPU-VAE" not in table
    study = Study("s", (0,), (study_method(name="x", configs=["a.gin"], seed_binding="s = {seed}"),), ("m.gin",), budget_images=1000)
    out = json.loads(json.dumps(results_json(study, results)))  # plain JSON, no NaN
    assert [r["method"] for r in out["runs"]] == [r.name for r in results]
    assert out["runs"][2] == {"method": "rPU-VAE (1 leaf-run)", "group": "rPU-VAE (1 leaf-run)", "seed": 0,
                              "leaf_runs": 1, "mig": None, "dci": 0.4, "training_images": 1000,
                              "wall_seconds": 12.5, "gaps": {}, "run_dir": "/runs/rPU-VAE (1 leaf-run)0"}
    assert out["runs"][0]["gaps"] == {"position_x": 0.61, "scale": 0.05} and gaps_table(results[2:]) == ""


def test_the_report_scores_the_sampled_representation_beside_the_mean():
    from rpu_tf.results.scores import Score
    from rpu_tf.studies.report import RunResult, results_json, summary_table
    from rpu_tf.studies.spec import Study

    def run(seed, mig, sampled_mig=None):
        scores = (Score("sprites", "A", "mig", mig), Score("sprites", "A", "dci", 0.5))
        sampled = () if sampled_mig is None else (Score("sprites", "A", "mig", sampled_mig),
                                                   Score("sprites", "A", "dci", 0.25))
        return RunResult("A", "A", seed, f"/runs/A{seed}", 1000, 1.0, None, scores, (), sampled)

    results = [run(0, 0.4, 0.1), run(1, 0.6, 0.3), run(2, 0.5)]
    assert "| A | 3 | 0.500 | 0.100 | 0.500 | 0.000 |" in summary_table(results)
    # medians over the runs evaluated on it: 0.2 of 0.1 and 0.3
    assert "| A | 3 | 0.200 | 0.100 | 0.250 | 0.000 |" in summary_table(results, "sampled")
    runs = results_json(Study("s", (0, 1, 2), (), (), budget_images=1), results)["runs"]
    assert runs[0]["sampled"] == {"mig": 0.1, "dci": 0.25} and runs[0]["mig"] == 0.4 and "sampled" not in runs[2]

