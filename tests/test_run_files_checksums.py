"""Issue 32, item 2: the files whose content later decides results (a stage's surrogate labels,
checkpoints, the training config, Keras models) carry a checksum record; a truncated or altered
one is rebuilt by the run where it can be (and the log says so), else refused in one line naming
the file and the command that repairs it. Nothing is computed from a damaged file."""

import json
import logging
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from test_rpu_algorithm import SCRIPT, SETTINGS, FakeStages, Line
from rpu_tf.layout import paths, rpu_files
from rpu_tf.rpu.algorithm import run_algorithm_1
from rpu_tf.rpu.journal import StageJournal
from rpu_tf.utils import checksums
from rpu_tf.utils.files import DamagedFileError
from rpu_tf.utils.state_files import load_state, save_state
from tests.helpers.pbt_toy import make_pbt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BETA_TC_VAE = os.path.join(ROOT, "gin_configs", "baselines", "beta_tc_vae.gin")
MIG = os.path.join(ROOT, "gin_configs", "metrics", "mig.gin")
#: Two steps, a checkpoint after each: a few seconds.
TINY_MODEL = ["model.training_steps = 2", "model.batch_size = 8", "model.eval_steps = 1", "encoder.num_latent = 2",
              "sprites.num_orientations = 2", "sprites.num_positions_x = 4", "sprites.num_positions_y = 4",
              "training.progress = False", "model.checkpoint_every = 1", "training.precision = 'float32'"]


def _truncate(path) -> None:
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])


def _alter_npz(path, key, change) -> None:
    """Rewrites the ``.npz`` at ``path`` as a valid file with array ``key`` changed (its record kept)."""
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    arrays[key] = change(arrays[key])
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _one_line(error) -> str:
    text = str(error.value)
    assert "\n" not in text
    return text


# --- the record itself ----------------------------------------------------------------------------

def test_a_record_is_sha256sums_format_and_a_file_without_one_is_read_unchecked(tmp_path):
    path = str(tmp_path / "labels.npz")
    save_state(path, {"labels": np.arange(6.0).reshape(3, 2)})
    assert sorted(os.listdir(tmp_path)) == ["labels.npz", "labels.npz.sha256"]
    if shutil.which("sha256sum"):
        checked = subprocess.run(["sha256sum", "-c", "labels.npz.sha256"], cwd=tmp_path, capture_output=True)
        assert checked.returncode == 0, checked.stdout
    _alter_npz(path, "labels", lambda a: a + 1)
    with pytest.raises(DamagedFileError, match=rf"{re.escape(path)}: cannot be read: its content .* differs from "
                                               r"the sha256 recorded in labels\.npz\.sha256.*damaged"):
        load_state(path)
    os.remove(checksums.record_file(path))  # a kill between the file and its record: read unchecked
    assert load_state(path)["labels"][0, 0] == 1.0
    save_state(path, {"labels": np.zeros(2)})
    with open(checksums.record_file(path), "w") as f:
        f.write("not a record")
    with pytest.raises(DamagedFileError, match=r"labels\.npz\.sha256: not a sha256 record of labels\.npz"):
        load_state(path)


# --- a stage's surrogate labels ---------------------------------------------------------------------

def _algorithm(run_dir, script=SCRIPT):
    fake = FakeStages(StageJournal(str(run_dir)), script)
    return fake, run_algorithm_1(Line(), fake.stages(), SETTINGS)


def _same_blocks(a, b) -> bool:
    return all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1])
               for run_a, run_b in zip(a.surrogate_labels, b.surrogate_labels) for x, y in zip(run_a, run_b))


@pytest.mark.parametrize("damage", ["altered", "truncated", "missing"])
def test_damaged_labels_of_a_stage_are_rebuilt_from_the_stage_and_said_so(tmp_path, caplog, damage):
    _, reference = _algorithm(tmp_path)
    labels = paths.stage_labels_file(str(tmp_path), "leaf1_meta1")
    intact = load_state(labels)
    {"altered": lambda: _alter_npz(labels, "labels", lambda a: a * 0), "truncated": lambda: _truncate(labels),
     "missing": lambda: os.remove(labels)}[damage]()
    with caplog.at_level(logging.WARNING):
        fake, result = _algorithm(tmp_path)
    assert fake.trained == ["leaf1_meta1"]  # the damaged stage alone (a real run resumes its finished PBT)
    assert f"rebuilt {labels}; the stage came out as the run recorded it" in caplog.text
    assert _same_blocks(result, reference) and fake.finals == [result.surrogate_labels]
    np.testing.assert_array_equal(load_state(labels)["labels"], intact["labels"])


def test_damaged_labels_whose_stage_comes_out_otherwise_are_refused_naming_the_redo(tmp_path):
    _algorithm(tmp_path)
    labels = paths.stage_labels_file(str(tmp_path), "initial")
    _alter_npz(labels, "labels", lambda a: a + 1)
    damaged = open(labels, "rb").read()
    other = dict(SCRIPT, initial=(0.45, SCRIPT["initial"][1]))  # what the stage's PBT now says differs
    with pytest.raises(DamagedFileError, match=rf"{re.escape(labels)}: cannot be read: .*best_score differ.*"
                                               r"--redo_from=initial") as error:
        _algorithm(tmp_path, other)
    _one_line(error)
    assert open(labels, "rb").read() == damaged  # nothing written, nothing computed after it
    with pytest.raises(DamagedFileError, match=r"--redo_from=initial"):  # what rpu_visualize etc. read
        rpu_files.read_stage_labels(str(tmp_path), "initial")


# --- PBT member checkpoints ---------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["altered", "truncated"])
def test_a_damaged_member_checkpoint_is_recomputed_from_the_generation_before(tmp_path, caplog, damage):
    from rpu_tf.pbt import StoppingRule

    stop = StoppingRule(max_generations=2)
    first = make_pbt(str(tmp_path), stopping=stop).run()
    intact = first.load_best_state()
    if damage == "altered":  # valid, but not what the member trained: only the checksum tells
        _alter_npz(first.best_checkpoint, "params/w", lambda w: w + 1)
    else:
        _truncate(first.best_checkpoint)
    with caplog.at_level(logging.WARNING):
        again = make_pbt(str(tmp_path), stopping=stop).run()
    assert "recomputing the best member's checkpoint" in caplog.text
    np.testing.assert_array_equal(again.load_best_state()["params"]["w"], intact["params"]["w"])


# --- single-model training: checkpoint and settings ------------------------------------------------

@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    """A tiny single-model run stopped after its last checkpoint and export, before it
    released ``checkpoint/`` (what a kill there leaves)."""
    import gin

    from rpu_tf.pipelines.single_model import train_with_gin
    from rpu_tf.training import checkpoints

    run = str(tmp_path_factory.mktemp("template") / "run")
    gin.clear_config()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(checkpoints, "release", lambda model_dir: None)
        train_with_gin(run, False, [BETA_TC_VAE], TINY_MODEL)
    gin.clear_config()
    return run


def _copy(template, tmp_path) -> str:
    run = str(tmp_path / "run")
    shutil.copytree(template, run)
    return run


def _results(run) -> dict:
    with open(os.path.join(run, "model", "results", "json", "train_results.json")) as f:
        return {k: v for k, v in json.load(f).items() if k not in ("uuid", "elapsed_time")}


def test_an_altered_training_checkpoint_is_retrained_from_step_0(stopped_run, tmp_path, clean_gin, caplog):
    from rpu_tf.pipelines.single_model import train_with_gin

    run = _copy(stopped_run, tmp_path)
    state = os.path.join(run, "checkpoint", "state.npz")
    with np.load(state) as data:  # valid weights of the last step, but not the ones trained
        weights = next(name for name in data.files if data[name].dtype == np.float32 and data[name].ndim == 2)
    _alter_npz(state, weights, lambda w: w + 0.5)
    caplog.set_level(logging.INFO)
    again = train_with_gin(run, False, [BETA_TC_VAE], TINY_MODEL)
    assert f"{state}: cannot be read: its content" in caplog.text and "starts again from step 0" in caplog.text
    assert "Resuming from the checkpoint" not in caplog.text
    assert {k: v for k, v in again.items() if k not in ("uuid", "elapsed_time")} == _results(stopped_run)


@pytest.mark.parametrize("damage", ["truncated", "altered", "truncated, no record"])
def test_a_damaged_training_config_stops_the_resume_in_one_line(stopped_run, tmp_path, clean_gin, damage):
    from rpu_tf.pipelines.single_model import train_with_gin

    run = _copy(stopped_run, tmp_path)
    claim = os.path.join(run, "checkpoint", "train.gin")
    text = open(claim).read()
    if damage == "altered":
        assert "model.batch_size = 8\n" in text
        open(claim, "w").write(text.replace("model.batch_size = 8\n", "model.batch_size = 16\n"))
    else:
        open(claim, "w").write(text[: len(text) // 2])
    if damage.endswith("no record"):  # a run of an rpu_tf from before records: the cut line tells
        os.remove(checksums.record_file(claim))
    state = open(os.path.join(run, "checkpoint", "state.npz"), "rb").read()
    what = "ends in the middle of a line" if damage.endswith("no record") else "differs from the sha256"
    with pytest.raises(DamagedFileError, match=rf"{re.escape(claim)}: .*{what}.*damaged.*--overwrite") as error:
        train_with_gin(run, False, [BETA_TC_VAE], TINY_MODEL)
    assert "other settings" not in _one_line(error)
    assert open(os.path.join(run, "checkpoint", "state.npz"), "rb").read() == state  # nothing trained


# --- rpu_evaluate: the model's train.gin ----------------------------------------------------------

def test_rpu_evaluate_refuses_a_truncated_train_gin_in_one_line(stopped_run, tmp_path):
    run = _copy(stopped_run, tmp_path)
    train_gin = os.path.join(run, "model", "results", "gin", "train.gin")
    text = open(train_gin).read()  # the case: the data set's settings cut off, its name kept
    open(train_gin, "w").write(text[: text.index("sprites.num_positions_x") + len("sprites.num_po")])
    done = subprocess.run([sys.executable, "-P", "-m", "rpu_tf.cli.evaluate", f"--model_dir={run}",
                           f"--gin_config={MIG}", "--gin_bindings=mig.num_train = 100", "--representations=mean"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"})
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert len(errors) == 1 and f"{train_gin}: " in errors[0] and "damaged" in errors[0], errors
    assert "--overwrite" in errors[0]
    assert not os.path.exists(os.path.join(run, "metrics")) and not os.path.exists(
        os.path.join(run, "postprocessed", "mean"))


@pytest.mark.parametrize("damage", ["altered", "truncated, no record"])
def test_postprocessing_reads_no_data_set_from_a_damaged_train_gin(stopped_run, tmp_path, clean_gin, damage):
    from rpu_tf.evaluation.postprocess import POSTPROCESS_CONFIGS, postprocess_with_gin

    run = _copy(stopped_run, tmp_path)
    train_gin = os.path.join(run, "model", "results", "gin", "train.gin")
    lines = open(train_gin).read().splitlines(keepends=True)
    if damage == "altered":  # the grid's settings deleted: default sprites, silently, before records
        open(train_gin, "w").writelines(line for line in lines if not line.startswith("sprites."))
    else:
        os.remove(checksums.record_file(train_gin))
        open(train_gin, "w").write("".join(lines)[:-3])
    out = os.path.join(run, "postprocessed", "mean")
    with pytest.raises(DamagedFileError, match=rf"{re.escape(train_gin)}: .*damaged.*postprocessed.*--overwrite"):
        postprocess_with_gin(run, out, False, [], POSTPROCESS_CONFIGS["mean"])
    assert not os.path.exists(out)


# --- Keras model files ------------------------------------------------------------------------------

def test_a_truncated_keras_file_says_damaged_and_how_to_repair_it(stopped_run, tmp_path):
    from rpu_tf.rpu.stages import warm_start_weights
    from rpu_tf.training.export import load_keras

    keras_file = os.path.join(stopped_run, "model", "model.keras")
    initial = os.path.join(str(tmp_path), "stages", "initial", "model", "model.keras")
    os.makedirs(os.path.dirname(initial))
    shutil.copy(keras_file, initial)
    shutil.copy(checksums.record_file(keras_file), checksums.record_file(initial))
    _truncate(initial)
    with pytest.raises(DamagedFileError, match=rf"{re.escape(initial)}: .*damaged.*--redo_from=initial") as error:
        warm_start_weights(str(tmp_path), "initial")
    assert "File not found" not in _one_line(error)
    os.remove(checksums.record_file(initial))  # a run of an older rpu_tf: the archive itself tells
    with pytest.raises(DamagedFileError, match=rf"{re.escape(initial)}: not a complete \.keras \(zip\) archive"):
        warm_start_weights(str(tmp_path), "initial")
    final = str(tmp_path / "model.keras")  # the final model's file: retrain
    data = bytearray(open(keras_file, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(final, "wb").write(bytes(data))
    with pytest.raises(DamagedFileError, match=rf"{re.escape(final)}: .*damaged.*--overwrite"):
        load_keras(final)
