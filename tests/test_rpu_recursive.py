"""The rPU-VAE pipeline end to end on tiny sprites: stages, labels, figures, final model, resume."""

import importlib.util
import json
import os

import numpy as np
import pytest

from tests.helpers.rpu_run import TINY_BASE, run_record
from rpu_tf.pbt import load_state
from rpu_tf.pipelines.rpu_vae import rpu_vae_with_gin, run_rpu_vae

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(ROOT, "gin_configs", "quickstart.gin")
TINY = TINY_BASE


pytestmark = pytest.mark.usefixtures("clean_gin")


@pytest.mark.slow
def test_rpu_vae_runs_all_stages_writes_the_run_directory_and_resumes(tmp_path):
    run_dir = str(tmp_path / "rpu")
    summary = rpu_vae_with_gin(run_dir, False, [QUICKSTART], TINY)
    if importlib.util.find_spec("tensorboard") is not None:  # the test extra: TensorBoard shows the population
        from test_tensorboard_population import check_rpu_vae_board

        check_rpu_vae_board(run_dir)
    manifest = json.load(open(os.path.join(run_dir, "manifest.json")))
    assert "initial" in manifest["stages"]
    initial = manifest["stages"]["initial"]
    assert initial["dataset_size"] == 3 * 2 * 2 * 8 * 8
    assert initial["active_latents"], "the threshold is tiny: some latent must be active"
    # Labels of the initial stage: one row per image, one column per active latent.
    saved = load_state(os.path.join(run_dir, "stages", "initial", "labels.npz"))
    assert saved["labels"].shape == (768, len(initial["active_latents"]))
    np.testing.assert_array_equal(saved["root_indices"], np.arange(768))
    for figure in ("traversals.png",):
        assert os.path.getsize(os.path.join(run_dir, "stages", "initial", figure)) > 100
    # A leaf-run stage, when the reduction found structure, trained on exactly the subset
    # the initial stage kept (indices relative to the full data set).
    leaf = {k: v for k, v in manifest["stages"].items() if k.startswith("leaf")}
    for record in leaf.values():
        assert record["dataset_size"] < 768
        labels = load_state(os.path.join(run_dir, "stages", record["name"], "labels.npz"))
        np.testing.assert_array_equal(labels["root_indices"], saved["kept_root_indices"])
    if saved["kept"].size:
        reduction = saved["reduction"]
        assert set(reduction) == {str(j) for j in range(len(initial["active_latents"]))}
        for entry in reduction.values():
            start, stop = entry["chosen_interval"]
            assert 0 <= start < stop <= 768 and entry["peaks"].ndim == 1
    # The final model in rpu_train's layout, scored against the surrogate labels.
    assert os.path.isdir(os.path.join(run_dir, "model", "saved_model"))
    assert 0.0 <= manifest["final"]["best_score"] <= 1.0
    gt = manifest["final"]["ground_truth"]
    assert 0.0 <= gt["discrete_mig"] <= 1.0 and 0.0 <= gt["disentanglement"] <= 1.0
    for metric in ("mig", "dci"):
        assert os.path.exists(os.path.join(run_dir, "ground_truth", metric, "results", "aggregate",
                                           "evaluation.json"))
    # summary.json names, per stage and active latent, the ground-truth factor it tracks best.
    on_disk = json.load(open(os.path.join(run_dir, "summary.json")))
    assert on_disk["final"]["ground_truth"] == gt
    how = on_disk["final"]["ground_truth_settings"]  # and says how, and how rpu_evaluate differs
    assert how["random_seed"] == manifest["final"]["ground_truth_settings"]["random_seed"]
    assert how["encoder_precision"] in ("float32", "mixed_bfloat16") and "rpu_evaluate" in how
    tracked = on_disk["stages"][0]["factor_tracked"]
    assert {t["factor"] for t in tracked} <= {"shape", "scale", "orientation", "position_x", "position_y"}
    # ... and the training images every stage consumed, and the precision it trained in.
    images = on_disk["training_images"]
    assert images["initial"] > 0 and images["final"] > 0 and images["total"] == sum(
        v for k, v in images.items() if k != "total")
    from rpu_tf.training.precision import auto_precision

    assert on_disk["precision"] == auto_precision()[0]  # quickstart.gin: training.precision = "auto"
    # quickstart.gin warm-starts the final stage from the initial metaEpoch's best replica.
    from rpu_tf.rpu.stages import warm_start_weights
    from rpu_tf.training.export import load_keras

    initial_model = load_keras(os.path.join(run_dir, "stages", "initial", "model", "model.keras"))
    start = warm_start_weights(run_dir, "initial")
    assert len(start) == len(initial_model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(start, initial_model.get_weights()))
    assert warm_start_weights(run_dir, "none") is None
    assert json.load(open(os.path.join(run_dir, "pbt", "pbt_config.json")))["fingerprint"]["warm_start"] == "initial"
    # Re-running continues from the manifest: nothing is trained again.
    stamp = os.path.getmtime(os.path.join(run_dir, "stages", "initial", "labels.npz"))
    again = rpu_vae_with_gin(run_dir, False, [QUICKSTART], TINY)
    assert os.path.getmtime(os.path.join(run_dir, "stages", "initial", "labels.npz")) == stamp
    assert again["final"] == summary["final"]
    # A changed setting of the finished stages is refused, naming it; limits may change.
    with pytest.raises(ValueError, match=r"active_latents.active_kl_threshold: was 0.0001, now 0.5"):
        rpu_vae_with_gin(run_dir, False, [QUICKSTART], TINY + ["active_latents.active_kl_threshold = 0.5"])
    assert "rpu_vae.max_leaf_runs" not in json.load(open(os.path.join(run_dir, "manifest.json")))["settings"]
    # --redo_from recomputes from a stage on with the new settings and keeps what came before.
    with pytest.raises(ValueError, match=r"--redo_from=leaf9: .* its stages are initial, leaf1_meta1"):
        rpu_vae_with_gin(run_dir, False, [QUICKSTART], TINY, redo_from="leaf9")
    leaf_budget = "metaepoch/leaf/pbt_vae.generation_images = 64"
    with pytest.raises(ValueError, match=r"--redo_from=initial"):  # the refusal says how
        rpu_vae_with_gin(run_dir, False, [QUICKSTART], TINY + [leaf_budget])
    redone = rpu_vae_with_gin(run_dir, False, [QUICKSTART], TINY + [leaf_budget], redo_from="leaf1_meta1")
    manifest = json.load(open(os.path.join(run_dir, "manifest.json")))
    assert os.path.getmtime(os.path.join(run_dir, "stages", "initial", "labels.npz")) == stamp  # kept
    assert manifest["settings"]["metaepoch/leaf/pbt_vae.generation_images"] == "64"
    assert redone["training_images"]["leaf1_meta1"] < summary["training_images"]["leaf1_meta1"]
    again = rpu_vae_with_gin(run_dir, False, [QUICKSTART], TINY + [leaf_budget])  # now resumes: nothing to do
    assert again["final"] == redone["final"]
    _readme_evaluation_runs_as_written(run_dir, tmp_path / "user")


#: Metric sizes for the README's evaluation commands on a tiny run (the only change to them).
SMALL_METRICS = ["mig.num_train = 200", "dci.num_train = 200", "dci.num_test = 100"]


def _readme_evaluation_runs_as_written(run_dir, folder):
    """The README's evaluation block, command by command, right after an rPU-VAE run in
    ``runs/quickstart`` of a user's folder: the run's own ground-truth check does not block
    rpu_evaluate, and aggregate, compare and visualize read what it wrote."""
    import re
    import shlex
    import shutil

    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = readme.split("## Evaluation against disentanglement_lib's baselines", 1)[1]
    commands = [line.split("#")[0] for line in re.search(r"```bash\n(.*?)```", section, re.S).group(1).splitlines()]
    shutil.copytree(run_dir, folder / "runs" / "quickstart")
    import subprocess
    import sys

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    for command in filter(str.strip, commands):  # each its own process, as a user types them
        argv = shlex.split(command)
        if argv[0] == "rpu_evaluate":
            argv += [f"--gin_bindings={b}" for b in SMALL_METRICS]
        done = subprocess.run([sys.executable, os.path.join(ROOT, "bin", argv[0]), *argv[1:]], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (command, done.stderr[-3000:])
    assert os.path.isfile(folder / "fig4.png") and os.path.isfile(folder / "results.json")
    ours = json.load(open(folder / "runs" / "quickstart" / "metrics" / "mean" / "mig" / "results" / "aggregate" /
                          "evaluation.json"))
    assert 0.0 <= ours["evaluation_results.discrete_mig"] <= 1.0
    assert os.path.isfile(folder / "runs" / "quickstart" / "ground_truth" / "mig" / "results" / "aggregate" /
                          "evaluation.json")  # the run's own check, untouched beside it


def test_a_data_set_without_a_finite_index_is_refused():
    from rpu_tf.data import GroundTruthData

    with pytest.raises(ValueError, match="finite index"):
        run_rpu_vae("unused", GroundTruthData())


def test_final_warm_start_is_checked(tmp_path):
    from rpu_tf.rpu.stages import warm_start_weights

    with pytest.raises(ValueError, match="final_warm_start"):
        warm_start_weights(str(tmp_path), "best")
    with pytest.raises(FileNotFoundError, match="initial metaEpoch"):
        warm_start_weights(str(tmp_path), "initial")
    with pytest.raises(ValueError, match="final_warm_start"):
        run_rpu_vae(str(tmp_path), None, final_warm_start="latest")


def test_factors_tracked_normalises_by_the_factor_entropy():
    from rpu_tf.data import Sprites
    from rpu_tf.evaluation.ground_truth import factors_tracked

    data = Sprites(num_scales=2, num_orientations=2, num_positions_x=8, num_positions_y=8, image_size=32)
    indices = np.arange(data.num_observations)
    factors = data.index_to_factors(indices)
    x = data.factor_names.index("position_x")
    labels = np.stack([factors[:, x] + 0.01 * np.random.RandomState(0).randn(len(indices)),
                       np.random.RandomState(1).randn(len(indices))], axis=1)
    tracked = factors_tracked(data, indices, labels, [7, 2])
    assert [t["latent"] for t in tracked] == [7, 2]
    assert tracked[0]["factor"] == "position_x"
    assert tracked[0]["normalized_mutual_information"]["position_x"] == pytest.approx(1.0, abs=1e-6)
    assert tracked[0]["mutual_information"]["position_x"] == pytest.approx(np.log(8), rel=1e-6)
    assert max(tracked[1]["normalized_mutual_information"].values()) < 0.1


def test_a_run_stopped_in_its_first_stage_can_resume(tmp_path):
    # The journal marks the folder as an rPU-VAE run before the first stage finishes, so the
    # overwrite guard lets the same command resume it instead of refusing a non-empty folder.
    from rpu_tf.layout.guard import prepare_directory
    from rpu_tf.rpu.journal import StageJournal

    run_dir = tmp_path / "run"
    StageJournal(str(run_dir))
    (run_dir / "stages" / "initial" / "pbt").mkdir(parents=True)  # a stage's PBT under way
    assert json.load(open(run_dir / "manifest.json"))["stages"] == {}
    prepare_directory(str(run_dir), overwrite=False, marker="manifest.json", resumable=True)
    assert (run_dir / "stages" / "initial" / "pbt").is_dir()


@pytest.mark.slow
def test_a_supervised_final_stage_trains_on_the_surrogate_labels(tmp_path):
    # rpu_vae.final_supervision_weight > 0: the final members also fit the surrogate labels;
    # warm-started, the initial block's columns land on the latents that produced them.
    run_dir = str(tmp_path / "rpu")
    rpu_vae_with_gin(run_dir, False, [QUICKSTART], TINY + ["rpu_vae.final_supervision_weight = 5.",
                                                           "rpu_vae.evaluate_final = False"])
    manifest = json.load(open(os.path.join(run_dir, "manifest.json")))
    supervision = json.load(open(os.path.join(run_dir, "pbt", "pbt_config.json")))["fingerprint"]["supervision"]
    assert supervision["weight"] == 5.0 and supervision["loss"] == "l2" and supervision["num_labelled"] == 768
    assert set(manifest["stages"]["initial"]["active_latents"]) <= set(supervision["latents"])
    lines = [json.loads(line) for line in open(os.path.join(run_dir, "pbt", "generations.jsonl"))]
    assert lines and all(np.isfinite(line["metrics"]["supervised_loss"]) for line in lines)


def test_stage_settings_are_the_bindings_the_metaepochs_depend_on():
    from rpu_tf.pipelines.rpu_vae import stage_settings

    config = ("# Parameters for reduction:\nreduction.peak_height_std = 7\n"
              "vae_hyperparameters.betas = \\\n    [4.0, 6.0]\nrpu_vae.max_leaf_runs = 3\n"
              "final/pbt_vae.generation_images = 1\nmetaepoch/leaf/pbt_vae.executor = 'ray'\n"
              "metaepoch/leaf/pbt_vae.generation_images = 16000\ntraining.precision = 'auto'\n")
    assert stage_settings(config) == {"reduction.peak_height_std": "7", "vae_hyperparameters.betas": "[4.0, 6.0]",
                                      "metaepoch/leaf/pbt_vae.generation_images": "16000"}


def _stage_checkpoint(run_dir, stage, precision):
    """A member checkpoint of ``stage``'s PBT whose state says it trained in ``precision``."""
    from rpu_tf.utils.state_files import save_state

    path = os.path.join(run_dir, "stages", stage, "pbt", "checkpoints", "gen_00000", "member_0000.npz")
    os.makedirs(os.path.dirname(path))
    save_state(path, {"config": np.asarray(json.dumps({"model_config": {"precision": precision}}))})


def test_a_stopped_run_goes_on_only_in_its_precision_a_finished_one_reads_in_any(tmp_path):
    from rpu_tf.rpu.journal import StageJournal
    from rpu_tf.training import PrecisionChangeError

    run_dir = str(tmp_path / "run")
    StageJournal(run_dir).check_precision("mixed_bfloat16")
    StageJournal(run_dir).check_precision("float32")  # nothing trained yet: it may change
    _stage_checkpoint(run_dir, "initial", "float32")  # the first stage under way
    with pytest.raises(PrecisionChangeError, match=r"rPU-VAE run in .*run trained in float32 so far.*continue it "
                                                   r'in mixed_bfloat16.*training.precision = "float32"'):
        StageJournal(run_dir).check_precision("mixed_bfloat16")
    StageJournal(run_dir).check_precision("float32")
    journal = StageJournal(run_dir)
    journal.manifest["stages"]["initial"] = {"name": "initial"}
    journal.save_final({"best_score": 0.5})
    finished = StageJournal(run_dir)
    finished.check_precision("mixed_bfloat16")  # finished: read in any precision ...
    with pytest.raises(PrecisionChangeError, match=r"finished rPU-VAE run in .*given stage leaf1_meta1 to train"):
        finished.load("leaf1_meta1")  # ... but a stage it has not trained (more leaf-runs) is refused
    with pytest.raises(PrecisionChangeError):  # --redo_from recomputes: checked as unfinished
        StageJournal(run_dir).check_precision("mixed_bfloat16", redo=True)
    assert json.load(open(os.path.join(run_dir, "manifest.json")))["precision"] == "float32"


def test_a_run_of_an_earlier_version_is_refused(tmp_path):
    # Written by an earlier, unreleased rpu_tf: its manifest records no precision although a
    # stage has trained, and recorded settings that are no longer compared. Such run
    # directories are no longer read: the resume is refused with what to do.
    from rpu_tf.layout.run_state import UnsupportedRunError
    from rpu_tf.rpu.journal import StageJournal

    run_dir = str(tmp_path / "run")
    _stage_checkpoint(run_dir, "initial", "float32")
    settings = {"reduction.peak_height_std": "7", "training.precision": "'auto'"}
    json.dump({"stages": {"initial": {"name": "initial"}}, "leaf_runs": [], "final": None, "settings": settings},
              open(os.path.join(run_dir, "manifest.json"), "w"))
    with pytest.raises(UnsupportedRunError, match=r"manifest.json records no training precision.*earlier, "
                                                  r"unreleased version of rpu_tf.*--overwrite"):
        StageJournal(run_dir).check_precision("float32")
    with pytest.raises(ValueError, match=r"training.precision: was 'auto', now <unset>"):
        StageJournal(run_dir).check_settings({"reduction.peak_height_std": "7"})


def test_a_refused_redo_deletes_nothing(tmp_path):
    from rpu_tf.training import PrecisionChangeError

    run_dir = str(tmp_path / "run")
    _stage_checkpoint(run_dir, "initial", "float32")
    manifest = {"stages": {"initial": {"name": "initial"}}, "leaf_runs": [], "final": {"best_score": 0.5},
                "precision": "float32"}
    json.dump(manifest, open(os.path.join(run_dir, "manifest.json"), "w"))
    with pytest.raises(PrecisionChangeError, match='training.precision = "float32"'):
        rpu_vae_with_gin(run_dir, False, [QUICKSTART], TINY + ['training.precision = "mixed_bfloat16"'],
                         redo_from="final")
    assert json.load(open(os.path.join(run_dir, "manifest.json"))) == manifest


def _rpu_process(run_dir, *kill, **environment):
    import subprocess
    import sys

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT, **environment)
    return subprocess.run([sys.executable, os.path.join(ROOT, "tests", "helpers", "rpu_run.py"), run_dir, *map(str, kill)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


@pytest.mark.slow
def test_six_kills_over_every_stage_resume_to_the_uninterrupted_run(tmp_path):
    """The process dies (no cleanup, as under SIGKILL) at 6 random moments: in the initial
    metaEpoch (twice), the leaf-run (twice), then the final PBT-S-VAE and its export or
    evaluation. Each moment is an atomic write, after its temporary is complete and before the
    rename; a kill between writes leaves the same files minus that temporary. The same command
    is rerun after each kill and once more to the end. The moments are drawn among the writes
    the uninterrupted run made on this machine: a second kill in a part falls among the writes
    that the first one left to do."""
    reference = str(tmp_path / "reference")
    writes_file = str(tmp_path / "writes.json")
    done = _rpu_process(reference, RPU_RUN_WRITES=writes_file)
    assert done.returncode == 0, done.stdout + done.stderr
    writes = json.load(open(writes_file))

    def count(part):
        n = sum(target.startswith(part) for target in writes)
        assert n > 0, f"the uninterrupted run wrote nothing under {part}: {sorted(set(writes))}"
        return n

    rng = np.random.RandomState(2026)
    last_part = ["model", "ground_truth", "summary.json"][rng.randint(3)]
    kills = []
    for part in ("stages/initial", "stages/leaf1_meta1"):
        first = rng.randint(1, min(15, count(part)))  # leaves at least 2 writes of the part to do
        kills += [(part, first), (part, rng.randint(1, min(3, count(part) - first + 1) + 1))]
    kills += [("pbt", rng.randint(1, min(12, count("pbt")) + 1)),
              (last_part, rng.randint(1, min(5, count(last_part)) + 1))]
    run = str(tmp_path / "killed")
    for part, count in kills:
        killed = _rpu_process(run, part, count)
        assert killed.returncode == 137, (part, count, killed.stdout + killed.stderr)
    finished = _rpu_process(run)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert run_record(run) == run_record(reference)
    # A moved run reruns and exports the same model; a copy never reads the original (gone).
    import shutil

    from rpu_tf.training.export import load_keras

    moved, copied = str(tmp_path / "moved"), str(tmp_path / "copied")
    shutil.move(run, moved)
    shutil.copytree(reference, copied)
    shutil.rmtree(reference)
    for folder in (moved, copied):
        again = _rpu_process(folder)
        assert again.returncode == 0, again.stdout + again.stderr
    assert run_record(moved) == run_record(copied)
    for a, b in zip(*(load_keras(os.path.join(f, "model", "model.keras")).get_weights() for f in (moved, copied))):
        np.testing.assert_array_equal(a, b)
