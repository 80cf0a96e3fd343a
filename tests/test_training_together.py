"""Single-model runs trained together as one replica group (rpu_train_together, study train groups)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rpu_tf.pipelines.single_model import train_with_gin
from rpu_tf.training.export import load_keras
from rpu_tf.pipelines.train_together import train_together_with_gin

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = [os.path.join(ROOT, "gin_configs", "quickstart_single_model.gin")]
TINY = ["model.training_steps = 4", "model.batch_size = 8", "model.eval_steps = 2", "sprites.num_orientations = 2",
        "sprites.num_positions_x = 4", "sprites.num_positions_y = 4", "encoder.num_latent = 4",
        "training.progress = False", "encoder.encoder_fn = @fc_encoder", "decoder.decoder_fn = @fc_decoder"]

pytestmark = pytest.mark.usefixtures("clean_gin")


def _results(run_dir):
    return json.load(open(os.path.join(run_dir, "model", "results", "json", "train_results.json")))


@pytest.mark.slow
def test_runs_trained_together_are_each_the_run_trained_alone(tmp_path):
    dirs = [str(tmp_path / name) for name in ("b1", "b8")]
    bindings = [TINY + ["beta_tc_vae.beta = 1.", "model.random_seed = 3"],
                TINY + ["beta_tc_vae.beta = 8.", "model.random_seed = 5"]]
    together = train_together_with_gin(dirs, False, CONFIG, bindings)
    assert [r["trained_together"] for r in together] == [2, 2]
    alone = str(tmp_path / "alone")
    train_with_gin(alone, False, CONFIG, bindings[1])
    # Each run directory says what its run was: its own beta and seed in train.gin ...
    gin_text = open(os.path.join(dirs[1], "model", "results", "gin", "train.gin")).read()
    assert "beta_tc_vae.beta = 8.0" in gin_text and "model.random_seed = 5" in gin_text
    assert _results(dirs[1])["training_images"] == 4 * 8
    # ... and its model is that run's: same start, batches and noise as alone (float noise aside).
    mine, reference = load_keras(os.path.join(dirs[1], "model", "model.keras")), load_keras(
        os.path.join(alone, "model", "model.keras"))
    assert mine.hyperparameters() == {"beta": 8.0}
    for a, b in zip(mine.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    other = load_keras(os.path.join(dirs[0], "model", "model.keras"))
    assert other.hyperparameters() == {"beta": 1.0}
    assert not np.allclose(other.get_weights()[0], mine.get_weights()[0])


def test_runs_that_differ_in_more_than_hyperparameters_are_refused(tmp_path):
    bindings = [TINY + ["model.random_seed = 0"], TINY + ["model.random_seed = 1", "model.training_steps = 5"]]
    with pytest.raises(ValueError, match="training_steps 5 differs"):
        train_together_with_gin([str(tmp_path / "a"), str(tmp_path / "b")], False, CONFIG, bindings)
    with pytest.raises(ValueError, match="one list of bindings per run directory"):
        train_together_with_gin([str(tmp_path / "a")], False, CONFIG, [])


@pytest.mark.slow
def test_the_command_line_trains_together_and_reports_bad_runs_in_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "rpu_tf.cli.train_together", f"--gin_config={CONFIG[0]}"] + [
        f"--gin_bindings={b}" for b in TINY] + [f"--run={tmp_path / 'a'}::beta_tc_vae.beta = 2.;model.random_seed = 1",
                                                f"--run={tmp_path / 'b'}::beta_tc_vae.beta = 4."]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _results(str(tmp_path / "a"))["trained_together"] == 2
    bad = subprocess.run(command[:4] + ["--run=::beta_tc_vae.beta = 2."], capture_output=True, text=True, env=env,
                         timeout=300)
    assert bad.returncode == 1 and "give MODEL_DIR::binding" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_evaluation_results_are_each_runs_own_and_data_settings_must_agree(tmp_path):
    bindings = [TINY + ["beta_tc_vae.beta = 2.", "model.random_seed = 7"], TINY + ["model.random_seed = 8"]]
    train_together_with_gin([str(tmp_path / "a"), str(tmp_path / "b")], False, CONFIG, bindings)
    train_with_gin(str(tmp_path / "alone"), False, CONFIG, bindings[0])
    together, alone = _results(str(tmp_path / "a")), _results(str(tmp_path / "alone"))
    np.testing.assert_allclose(together["reconstruction_loss"], alone["reconstruction_loss"], rtol=1e-3)
    # A data setting that differs (same name, shape and factors) is found in the configs.
    with pytest.raises(ValueError, match=r"setting 'sprites.max_size = 0.25' differs"):
        train_together_with_gin([str(tmp_path / "c"), str(tmp_path / "d")], False, CONFIG,
                                [TINY, TINY + ["sprites.max_size = 0.25"]])


def test_a_refused_directory_clears_none_and_a_failed_parse_leaves_gin_clean(tmp_path):
    import gin

    done = tmp_path / "done"
    train_together_with_gin([str(done)], False, CONFIG, [TINY])
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="Refusing to overwrite"):
        train_together_with_gin([str(done), str(foreign)], True, CONFIG, [TINY, TINY])
    assert os.path.exists(done / "model" / "model.keras")  # not cleared: the second was refused first
    with pytest.raises(ValueError, match="given twice"):
        train_together_with_gin([str(tmp_path / "x"), str(tmp_path / "x")], False, CONFIG, [TINY, TINY])
    with pytest.raises(Exception):
        train_together_with_gin([str(tmp_path / "y")], False, CONFIG, [TINY + ["no_such_thing.x = 1"]])
    assert gin.config_str().strip() == ""


def test_a_semi_supervised_run_of_zero_steps_writes_its_results(tmp_path):
    results = train_with_gin(str(tmp_path / "s"), False, CONFIG,
                             TINY + ["model.training_steps = 0", "supervision.num_labelled = 10", "encoder.num_latent = 6"])
    assert results["num_labelled"] == 10 and "supervised_loss" not in results
