"""Issue 32: crafted run files touch nothing outside the run, overwrite replaces only on
success, inputs are checked before work, and no code runs from the working folder."""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rpu_tf.layout import names, paths, rpu_files
from rpu_tf.layout.replace import Replacement, recover, replaced_on_success, set_aside
from rpu_tf.utils.whole_numbers import whole_number

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(ROOT, "gin_configs", "quickstart.gin")
BETA_TC_VAE = os.path.join(ROOT, "gin_configs", "baselines", "beta_tc_vae.gin")
MIG = os.path.join(ROOT, "gin_configs", "metrics", "mig.gin")
TINY_MODEL = ["model.training_steps = 2", "model.batch_size = 8", "model.eval_steps = 1", "encoder.num_latent = 2",
              "sprites.num_orientations = 2", "sprites.num_positions_x = 4", "sprites.num_positions_y = 4",
              "training.progress = False"]
#: A tiny rPU-VAE whose setting is refused once the run has been readied (a fractional count).
REFUSED_RPU = ["sprites.num_positions_x = 4", "sprites.num_positions_y = 4", "training.precision = 'float32'",
               "rpu_vae.max_meta_epochs = 1.5"]
PROBE = "import os\nopen(os.environ['SAFETY_PROBE_MARKER'], 'w').write('ran')\n"


def _snapshot(folder) -> dict:
    """``{relative path: sha256}`` of every file below ``folder`` (the run lock aside)."""
    out = {}
    for current, _, files in os.walk(folder):
        for name in files:
            if name != ".rpu_lock":
                path = os.path.join(current, name)
                out[os.path.relpath(path, folder)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return out


def _record(name: str, leaf_run) -> dict:
    return {"name": name, "leaf_run": leaf_run, "meta_epoch": 0 if leaf_run is None else 1, "dataset_size": 8,
            "best_score": 0.5, "generations": 1, "stop_reason": "budget", "active_latents": [0], "kl": [1.0, 0.0],
            "kept_size": 4, "end_reason": None}


def _crafted_rpu_run(run, stage_names=("initial", "leaf1_meta1")) -> str:
    """An rPU-VAE run directory with the given stages (files with known bytes) and a final model."""
    os.makedirs(run, exist_ok=True)
    manifest = {"stages": {n: _record(n, None if n == "initial" else 1) for n in stage_names}, "leaf_runs": [],
                "final": {"best_score": 0.5}, "precision": "float32"}
    with open(os.path.join(run, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    for name in stage_names:
        if names.STAGE_NAME.fullmatch(name):
            os.makedirs(os.path.join(run, "stages", name, "pbt"))
            with open(os.path.join(run, "stages", name, "labels.npz"), "wb") as f:
                f.write(f"labels of {name}".encode())
    os.makedirs(os.path.join(run, "model"))
    with open(os.path.join(run, "model", "model.keras"), "wb") as f:
        f.write(b"the final model")
    return str(run)


# --- 1. names read from run files are data, not paths -------------------------------------------

def test_stage_names_and_indices_follow_the_layouts_rules():
    for good in ("initial", "leaf1_meta1", "leaf12_meta3"):
        assert names.check_stage_name(good, "m.json") == good
    assert names.check_stage_name("final", "--redo_from", allow_final=True) == "final"
    for bad in ("../../../victim", "initial/../../x", "/etc", "leaf0_meta1", "final", "", 3, None):
        with pytest.raises(names.UnsafeNameError, match="m.json: .* is not a stage name"):
            names.check_stage_name(bad, "m.json")
    with pytest.raises(names.UnsafeNameError):
        paths.stage_dir("/run", "../victim")
    assert paths.checkpoint_file("/p", np.int64(2), 3).endswith("gen_00002/member_0003.npz")
    for bad in ("../x", -1, True, 1.5):
        with pytest.raises(names.UnsafeNameError, match="not a non-negative integer"):
            paths.checkpoint_file("/p", 1, bad)


def test_containment_refuses_parent_steps_and_symlinked_folders(tmp_path):
    run, outside = tmp_path / "run", tmp_path / "outside"
    (run / "stages").mkdir(parents=True)
    (outside / "initial").mkdir(parents=True)
    (outside / "initial" / "keep.txt").write_text("keep")
    assert names.inside(str(run), str(run / "stages" / "x")) == os.path.join(os.path.realpath(run), "stages", "x")
    for bad in (run / ".." / "outside", run, tmp_path):
        with pytest.raises(names.UnsafeNameError, match="outside the run directory"):
            names.inside(str(run), str(bad))
    (run / "stages").rmdir()
    (run / "stages").symlink_to(outside)  # a crafted run whose stages/ leads elsewhere
    with pytest.raises(names.UnsafeNameError):
        rpu_files.remove_stage_outputs(str(run), ["initial"])
    assert (outside / "initial" / "keep.txt").read_text() == "keep"


def test_a_crafted_manifest_is_refused_with_one_line_naming_the_file(tmp_path):
    run = _crafted_rpu_run(tmp_path / "run", ("initial", "../../../victim"))
    with pytest.raises(names.UnsafeNameError, match=r"manifest\.json: '\.\./\.\./\.\./victim' is not a stage name"):
        rpu_files.read_manifest(run)
    with open(os.path.join(run, "manifest.json"), "w") as f:
        f.write('{"stages": {"initial": ')  # truncated
    with pytest.raises(ValueError, match=r"manifest\.json is not valid JSON .*--overwrite"):
        rpu_files.read_manifest(run)
    with open(os.path.join(run, "manifest.json"), "w") as f:
        json.dump({"stages": {"initial": {"name": "leaf1_meta1"}}}, f)
    with pytest.raises(ValueError, match="record of stage 'initial'"):
        rpu_files.read_manifest(run)


def test_rpu_train_redo_from_with_a_traversal_stage_deletes_nothing_outside(tmp_path):
    # The case: RUN/stages/../../../victim is tmp_path/a/victim.
    victim = tmp_path / "a" / "victim"
    victim.mkdir(parents=True)
    (victim / "precious.txt").write_text("precious")
    run = _crafted_rpu_run(tmp_path / "a" / "b" / "run", ("initial", "leaf1_meta1", "../../../victim"))
    before = _snapshot(run)
    done = subprocess.run([sys.executable, "-P", "-m", "rpu_tf.cli.train", f"--gin_config={QUICKSTART}",
                           f"--model_dir={run}", "--redo_from=leaf1_meta1"], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": ROOT}, cwd=tmp_path)
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert len(errors) == 1 and "manifest.json" in errors[0] and "'../../../victim'" in errors[0], errors
    assert (victim / "precious.txt").read_text() == "precious" and _snapshot(run) == before


# --- 2. overwrite and redo replace only on success ----------------------------------------------

def test_a_failed_redo_leaves_the_old_stages_byte_for_byte(tmp_path, clean_gin):
    from rpu_tf.pipelines.rpu_vae import rpu_vae_with_gin

    run = _crafted_rpu_run(tmp_path / "run")
    before = _snapshot(run)
    with pytest.raises(ValueError, match=r"rpu_vae.max_meta_epochs must be a whole number, got 1.5"):
        rpu_vae_with_gin(run, False, [QUICKSTART], REFUSED_RPU, redo_from="leaf1_meta1")
    assert _snapshot(run) == before
    assert not [n for n in os.listdir(run) if n.startswith(".redo_from")]
    with pytest.raises(ValueError, match="has no such stage"):  # a name from the flag is never a path
        rpu_vae_with_gin(run, False, [QUICKSTART], REFUSED_RPU, redo_from="../../x")
    assert _snapshot(run) == before


def test_a_failed_overwrite_leaves_the_old_run_byte_for_byte(tmp_path, clean_gin):
    from rpu_tf.pipelines.rpu_vae import rpu_vae_with_gin

    run = _crafted_rpu_run(tmp_path / "run")
    before = _snapshot(run)
    with pytest.raises(ValueError, match=r"rpu_vae.max_meta_epochs must be a whole number, got 1.5"):
        rpu_vae_with_gin(run, True, [QUICKSTART], REFUSED_RPU)
    assert _snapshot(run) == before
    assert sorted(os.listdir(run)) == [".rpu_lock", "manifest.json", "model", "stages"]  # no backup left


def test_a_single_model_overwrite_that_fails_in_training_brings_the_old_run_back(tmp_path, clean_gin, monkeypatch):
    import importlib

    from rpu_tf.pipelines.single_model import train_with_gin

    train = importlib.import_module("rpu_tf.training.train")
    run = str(tmp_path / "run")
    train_with_gin(run, False, [BETA_TC_VAE], TINY_MODEL)
    before = _snapshot(run)
    real = train._train_locked

    def fail(runs, *args, **kwargs):
        os.makedirs(os.path.join(runs[0].model_dir, "tensorboard"))  # what training starts with
        with open(os.path.join(runs[0].model_dir, "checkpoint", "half.txt"), "w") as f:
            f.write("a half-written checkpoint")
        raise RuntimeError("out of memory in the first step")

    monkeypatch.setattr(train, "_train_locked", fail)
    with pytest.raises(RuntimeError, match="out of memory"):
        train_with_gin(run, True, [BETA_TC_VAE], TINY_MODEL)
    assert _snapshot(run) == before and not [n for n in os.listdir(run) if n.startswith(".overwrite")]
    monkeypatch.setattr(train, "_train_locked", real)
    train_with_gin(run, True, [BETA_TC_VAE], TINY_MODEL + ["model.random_seed = 7"])  # succeeds: replaced
    after = _snapshot(run)
    files = {p: d for p, d in before.items() if not p.startswith("tensorboard")}
    assert {p for p in after if not p.startswith("tensorboard")} == set(files)
    assert after[os.path.join("model", "model.keras")] != files[os.path.join("model", "model.keras")]
    assert not [n for n in os.listdir(run) if n.startswith(".overwrite")]


def test_overwritten_keeps_the_lock_and_a_killed_attempts_backup_is_cleaned_on_resume(tmp_path):
    from rpu_tf.layout.guard import prepare_directory
    from rpu_tf.layout.replace import overwritten

    run = _crafted_rpu_run(tmp_path / "run")
    (tmp_path / "run" / ".rpu_lock").write_text("held")
    gen = overwritten(run, keep=(".rpu_lock",))
    gen.__enter__()  # the attempt starts, then is killed: __exit__ never runs
    assert sorted(n for n in os.listdir(run) if not n.startswith(".overwrite.")) == [".rpu_lock"]
    (tmp_path / "run" / "manifest.json").write_text("{}")  # the new attempt's first file
    prepare_directory(run, False, "manifest.json", resumable=True)  # the next command resumes the new run
    assert sorted(os.listdir(run)) == [".rpu_lock", "manifest.json"]


def test_set_aside_restores_on_failure_and_drops_the_old_on_success(tmp_path):
    run = _crafted_rpu_run(tmp_path / "run")
    before = _snapshot(run)
    targets = rpu_files.stage_outputs(run, ["leaf1_meta1"])
    with pytest.raises(RuntimeError):
        with set_aside(run, targets) as moved:
            assert os.path.join(os.path.realpath(run), "stages", "leaf1_meta1") in moved
            os.makedirs(os.path.join(run, "stages", "leaf1_meta1"))  # a half-written new stage
            raise RuntimeError("the redo failed")
    assert _snapshot(run) == before
    with set_aside(run, targets):
        pass
    assert sorted(os.listdir(run)) == ["manifest.json", "stages"]  # no backup left
    assert sorted(os.listdir(os.path.join(run, "stages"))) == ["initial"]


def test_replacement_swaps_only_on_success_and_finishes_a_killed_swap(tmp_path):
    out = tmp_path / "metrics" / "mig"
    (out / "results").mkdir(parents=True)
    (out / "results" / "r.json").write_text("old")
    with pytest.raises(ValueError):
        with replaced_on_success() as replacement:
            (tmp_path / replacement.stage(str(out)) / "r.json").write_text("new")
            raise ValueError("mig.num_train must be a positive integer")
    assert _snapshot(out) == {os.path.join("results", "r.json"): hashlib.sha256(b"old").hexdigest()}
    assert os.listdir(tmp_path / "metrics") == ["mig"]  # nothing staged is left
    killed = Replacement()
    staged = killed.stage(str(out))
    with open(os.path.join(staged, "r.json"), "w") as f:
        f.write("new")
    os.replace(out, staged + ".old")  # killed between the two renames of commit()
    recover(str(out))
    assert (out / "r.json").read_text() == "new" and os.listdir(tmp_path / "metrics") == ["mig"]


@pytest.mark.slow
def test_rpu_evaluate_overwrite_with_a_failing_metric_leaves_the_old_results(tmp_path):
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "safety_probe_module.py").write_text(PROBE)
    marker = tmp_path / "ran"
    done = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "helpers", "overwrite_run.py"), str(tmp_path / "w"),
                           str(evil)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "SAFETY_PROBE_MARKER": str(marker), "PYTHONPATH": ROOT})
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    codes, digests = out["codes"], out["digests"]
    assert codes == {"first": 0, "bad_mig": 1, "bad_dci": 1, "importing": 1, "good": 0}, done.stderr[-3000:]
    assert any(p.startswith("metrics/mean/mig/") for p in digests["first"])
    for step in ("bad_mig", "bad_dci", "importing"):
        assert digests[step] == digests["first"], step  # byte for byte
    assert digests["good"] != digests["first"] and set(digests["good"]) == set(digests["first"])
    assert not marker.exists()
    assert "must be a positive integer" in done.stderr and "'import safety_probe_module' refused" in done.stderr


# --- 3. inputs checked before work ----------------------------------------------------------------

def test_whole_numbers_are_refused_not_truncated():
    assert whole_number(8, "x") == 8 and whole_number(np.int32(3), "x") == 3 and whole_number(64.0, "x") == 64
    for bad in (8.5, "8", True, float("nan"), float("inf"), None):
        with pytest.raises(ValueError, match="x must be a whole number"):
            whole_number(bad, "x")
    with pytest.raises(ValueError, match="x must be >= 1 .steps., got 0"):
        whole_number(0, "x", 1, "steps")


@pytest.mark.parametrize("binding, message", [("model.batch_size = 8.5", "model.batch_size must be a whole number"),
                                              ("model.batch_size = 0", "model.batch_size must be >= 1")])
def test_a_refused_setting_leaves_nothing_that_blocks_the_corrected_command(tmp_path, clean_gin, binding, message):
    from rpu_tf.layout import run_state
    from rpu_tf.pipelines.single_model import train_with_gin

    run = str(tmp_path / "run")
    with pytest.raises(ValueError, match=message):
        train_with_gin(run, False, [BETA_TC_VAE], TINY_MODEL + [binding])
    assert run_state.single_model_status(run) == run_state.FRESH
    assert not os.path.exists(os.path.join(run, "checkpoint"))


def test_a_failure_before_the_first_checkpoint_removes_the_claim(tmp_path, clean_gin, monkeypatch):
    import importlib

    from rpu_tf.layout import run_state
    from rpu_tf.pipelines.single_model import train_with_gin

    train = importlib.import_module("rpu_tf.training.train")  # the module (the package exports a function so named)

    def fail(*args, **kwargs):
        os.makedirs(os.path.join(args[0][0].model_dir, "tensorboard"))  # what training starts with
        raise ValueError("refused by the replica group")

    monkeypatch.setattr(train, "_train_locked", fail)
    run = str(tmp_path / "run")
    with pytest.raises(ValueError, match="refused by the replica group"):
        train_with_gin(run, False, [BETA_TC_VAE], TINY_MODEL)
    assert run_state.single_model_status(run) == run_state.FRESH and os.listdir(run) in ([], [".rpu_lock"])


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_non_finite_image_arrays_are_refused_in_one_line(tmp_path, suffix):
    from rpu_tf.data.images import ImageArray

    path = str(tmp_path / f"images{suffix}")
    images = np.full((6, 8, 8), np.nan, np.float32)
    if suffix == ".npz":
        np.savez(path, images=images)
    else:
        import h5py

        with h5py.File(path, "w") as f:
            f["images"] = images
    with pytest.raises(ValueError, match=r"images: .*images\.(npz|h5).* NaN or infinite") as error:
        ImageArray(path, image_size=8, num_channels=1)
    assert "\n" not in str(error.value)
    images = np.full((6, 8, 8), 0.5, np.float32)
    images[3, 2, 2] = np.inf  # one bad pixel is enough
    np.savez(str(tmp_path / "one.npz"), images=images)
    with pytest.raises(ValueError, match="1 of 384 values"):
        ImageArray(str(tmp_path / "one.npz"), image_size=8, num_channels=1)


def test_rpu_train_together_run_syntax_is_strict():
    from rpu_tf.cli.train_together import parse_run

    assert parse_run("runs/b1::beta_tc_vae.beta = 1.;model.random_seed = 2") == (
        "runs/b1", ["beta_tc_vae.beta = 1.", "model.random_seed = 2"])
    assert parse_run("runs/b1") == ("runs/b1", [])
    with pytest.raises(ValueError, match=r"holds '='.*give MODEL_DIR::binding;binding;\.\.\. \(two colons"):
        parse_run("runs/b1:beta_tc_vae.beta = 1.")
    with pytest.raises(ValueError, match="'beta_tc_vae.beta' is not a binding"):
        parse_run("runs/b1::beta_tc_vae.beta")


# --- 4. no code from the working folder -----------------------------------------------------------

def _probe_folder(tmp_path, module: str):
    """A working folder holding ``module``.py that leaves a marker file when imported."""
    folder = tmp_path / "cwd"
    folder.mkdir(exist_ok=True)
    (folder / f"{module}.py").write_text(PROBE)
    return folder, tmp_path / f"{module}_ran"


def test_gin_import_lines_are_refused_unless_allowed(tmp_path, clean_gin, monkeypatch):
    from rpu_tf.evaluation.evaluate import parse_metric_config
    from rpu_tf.utils.gin_files import parse_gin
    from rpu_tf.utils.gin_imports import ALLOW_IMPORTS_ENV, GinImportRefusedError

    folder, marker = _probe_folder(tmp_path, "safety_probe_gin_import")
    monkeypatch.setenv("SAFETY_PROBE_MARKER", str(marker))
    monkeypatch.syspath_prepend(str(folder))  # importable: only the refusal keeps it from running
    monkeypatch.chdir(folder)
    config = folder / "metric.gin"
    config.write_text("import safety_probe_gin_import\n" + open(MIG).read())
    monkeypatch.delenv(ALLOW_IMPORTS_ENV, raising=False)
    for parse in (lambda: parse_gin([str(config)]), lambda: parse_metric_config([str(config)], [])):
        with pytest.raises(GinImportRefusedError, match=r"(?s)'import safety_probe_gin_import' refused.*metric\.gin"):
            parse()
    with pytest.raises(GinImportRefusedError):
        parse_gin([], ["import safety_probe_gin_import"])
    assert not marker.exists() and "safety_probe_gin_import" not in sys.modules
    monkeypatch.setenv(ALLOW_IMPORTS_ENV, "1")  # the documented way to allow it
    parse_gin([], ["import safety_probe_gin_import"])
    assert marker.exists()
    monkeypatch.delitem(sys.modules, "safety_probe_gin_import")


def test_study_children_do_not_import_from_the_working_folder(tmp_path, monkeypatch):
    from rpu_tf.studies.jobs import EvaluateJob, SubprocessLauncher

    folder, marker = _probe_folder(tmp_path, "gin")  # shadows the gin package for `python -m` children
    monkeypatch.setenv("SAFETY_PROBE_MARKER", str(marker))
    monkeypatch.chdir(folder)
    subprocess.run([sys.executable, "-c", "import gin"], cwd=folder, capture_output=True)
    assert marker.exists()  # the probe works: a child with the folder on its path runs it
    marker.unlink()
    log = str(tmp_path / "log" / "job.log")
    code = SubprocessLauncher()(EvaluateJob(str(tmp_path / "no_model"), (MIG,)), log)
    text = open(log).read()
    assert code == 1 and "no_model" in text and "Traceback" not in text, text[-2000:]
    assert " -P -m rpu_tf.cli.evaluate" in text and not marker.exists()


@pytest.mark.parametrize("command", ["rpu_train", "rpu_evaluate"])
def test_console_commands_do_not_import_from_the_working_folder(tmp_path, command):
    script = os.path.join(os.path.dirname(sys.executable), command)
    if not os.path.isfile(script):
        pytest.skip(f"{command} is not installed beside {sys.executable}")
    folder, marker = _probe_folder(tmp_path, "gin")
    args = ([f"--gin_config={folder / 'missing.gin'}"] if command == "rpu_train"
            else [f"--model_dir={tmp_path / 'no_model'}", f"--gin_config={MIG}"])
    done = subprocess.run([script] + args, cwd=folder, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "SAFETY_PROBE_MARKER": str(marker)})
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert not marker.exists()


def test_a_keras_file_with_a_lambda_layer_runs_no_code(tmp_path, monkeypatch):
    import keras

    from rpu_tf.training.export import load_keras

    marker = tmp_path / "lambda_ran"
    monkeypatch.setenv("SAFETY_PROBE_MARKER", str(marker))
    inputs = keras.Input((2,))
    probe = keras.layers.Lambda(lambda x: (open(__import__("os").environ["SAFETY_PROBE_MARKER"], "w").close(), x)[1])
    model = keras.Model(inputs, probe(inputs))
    path = str(tmp_path / "model.keras")
    model.save(path)
    marker.unlink(missing_ok=True)  # building the model called the function once
    with pytest.raises(ValueError, match="safe_mode"):
        load_keras(path)
    assert not marker.exists()


def test_keras_is_pinned_to_the_version_the_safe_mode_test_proves():
    import re

    import keras

    spec = re.search(r'"keras([^"]*)"', open(os.path.join(ROOT, "pyproject.toml")).read()).group(1)
    major, minor = (int(p) for p in keras.__version__.split(".")[:2])
    assert spec == f">={major}.{minor},<{major}.{minor + 1}", (spec, keras.__version__)
