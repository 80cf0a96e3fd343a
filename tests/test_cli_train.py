"""rpu_train / train_with_gin: disentanglement_lib's layout, exports, overwrite, bad input."""

import json
import os
import subprocess
import sys

import gin
import numpy as np
import pytest
import tensorflow as tf

from rpu_tf.cli import train as cli
from rpu_tf.pipelines.single_model import train_with_gin
from rpu_tf.training.export import load_keras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINES = os.path.join(ROOT, "gin_configs", "baselines")
TINY = [
    "model.training_steps = 3",
    "model.batch_size = 8",
    "model.eval_steps = 2",
    "sprites.num_orientations = 2",
    "sprites.num_positions_x = 4",
    "sprites.num_positions_y = 4",
    "training.progress = False",
]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("runs") / "btc")
    results = train_with_gin(model_dir, False, [os.path.join(BASELINES, "beta_tc_vae.gin")],
                             TINY + ["beta_tc_vae.beta = 3."])
    return model_dir, results


def test_writes_dlib_layout(trained_run):
    model_dir, results = trained_run
    out = os.path.join(model_dir, "model", "results")
    for rel in ("gin/train.gin", "json/train_config.json", "json/train_results.json",
                "aggregate/train.json"):
        assert os.path.isfile(os.path.join(out, rel)), rel
    with open(os.path.join(out, "json", "train_results.json")) as f:
        saved = json.load(f)
    assert set(saved) == {"loss", "reconstruction_loss", "elbo", "regularizer", "kl_loss",
                          "global_step", "batch_size", "training_images", "elapsed_time", "uuid",
                          "precision"}
    from rpu_tf.training.precision import auto_precision

    assert saved["precision"] == auto_precision()[0]  # training.precision defaults to "auto"
    assert saved["global_step"] == 3 and saved == results
    assert saved["training_images"] == 3 * saved["batch_size"]
    assert saved["elbo"] == pytest.approx(-(saved["reconstruction_loss"] + saved["kl_loss"]), rel=1e-6)
    with open(os.path.join(out, "json", "train_config.json")) as f:
        config = json.load(f)
    assert config["beta_tc_vae.beta"] == "3.0"
    assert config["dataset.name"] == "'sprites'"
    assert config["model.model"] == "@beta_tc_vae()"
    assert config["encoder.encoder_fn"] == "@conv_encoder"
    assert all(isinstance(v, str) for v in config.values())
    with open(os.path.join(out, "aggregate", "train.json")) as f:
        aggregate = json.load(f)
    assert aggregate["train_config.model.batch_size"] == "8"
    assert aggregate["train_results.uuid"] == saved["uuid"]
    with open(os.path.join(out, "gin", "train.gin")) as f:
        assert "vae/AdamOptimizer.learning_rate = 0.0001" in f.read()
    assert gin.config_str() == ""  # train_with_gin clears the config


def test_tensorboard_curves_of_a_single_model(trained_run):
    """``tensorboard --logdir RUN`` shows the loss terms per step and the hyperparameters."""
    from rpu_tf.training.summaries import read_scalars

    model_dir, results = trained_run
    scalars = read_scalars(os.path.join(model_dir, "tensorboard"))
    assert {"train/loss", "train/reconstruction_loss", "train/kl_loss", "train/regularizer"} <= set(scalars)
    assert [step for step, _ in scalars["train/loss"]] == [1, 2, 3]  # window 1 of 3 steps
    assert scalars["hyperparameters/beta"] == [(0, 3.0)] and scalars["hyperparameters/batch_size"] == [(0, 8.0)]
    assert scalars["hyperparameters/learning_rate"][0][1] == pytest.approx(1e-4)
    assert all(np.isfinite(v) for _, v in scalars["train/loss"])


def test_saved_model_and_keras_file_give_the_same_encoding(trained_run):
    model_dir, _ = trained_run
    images = np.random.RandomState(0).uniform(size=(5, 64, 64, 1)).astype(np.float32)
    keras_model = load_keras(os.path.join(model_dir, "model", "model.keras"))
    loaded = tf.saved_model.load(os.path.join(model_dir, "model", "saved_model"))
    assert {"gaussian_encoder", "decoder", "reconstructions"} <= set(loaded.signatures)
    encoded = loaded.signatures["gaussian_encoder"](images=tf.constant(images))
    mean, logvar = keras_model.encode(images)
    np.testing.assert_allclose(encoded["mean"].numpy(), mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(encoded["logvar"].numpy(), logvar.numpy(), rtol=1e-5, atol=1e-6)
    decoded = loaded.signatures["decoder"](latent_vectors=mean)["images"]
    np.testing.assert_allclose(decoded.numpy(), keras_model.decode(mean).numpy(), rtol=1e-4, atol=1e-4)
    assert loaded.signatures["reconstructions"](images=tf.constant(images))["images"].shape == images.shape
    assert keras_model.hyperparameters() == {"beta": 3.0}


SAVED_MODEL_CLI_RUNS = """
import json, sys
from tensorflow.python.tools import saved_model_cli
for signature, name, source, out in json.loads(sys.argv[2]):
    feed = saved_model_cli.load_inputs_from_input_arg_string(f"{name}={source}", "", "")
    saved_model_cli.run_saved_model_with_feed_dict(sys.argv[1], "serve", signature, feed, out, False)
"""


@pytest.mark.slow
def test_saved_model_cli_runs_every_signature(trained_run, tmp_path):
    """TF1-style loaders (saved_model_cli, TF Serving) restore the variables of every
    signature; the outputs equal the Keras model's."""
    model_dir, _ = trained_run
    saved = os.path.join(model_dir, "model", "saved_model")
    keras_model = load_keras(os.path.join(model_dir, "model", "model.keras"))
    images = np.random.RandomState(1).uniform(size=(3, 64, 64, 1)).astype(np.float32)
    mean, logvar = (t.numpy() for t in keras_model.encode(images))
    np.save(tmp_path / "images.npy", images)
    np.save(tmp_path / "latents.npy", mean)
    inputs = {"gaussian_encoder": "images", "decoder": "latent_vectors", "reconstructions": "images",
              "representation": "images"}
    runs = [(signature, name, str(tmp_path / ("latents.npy" if name == "latent_vectors" else "images.npy")),
             str(tmp_path / signature)) for signature, name in inputs.items()]
    # saved_model_cli's own `run` code (TF1 session, variables restored per signature), for every
    # signature in one fresh interpreter rather than one per signature
    done = subprocess.run([sys.executable, "-c", SAVED_MODEL_CLI_RUNS, saved, json.dumps(runs)], capture_output=True,
                          text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert done.returncode == 0, done.stderr[-2000:]
    for signature, _, _, out in runs:
        outputs = {f[:-4]: np.load(os.path.join(out, f)) for f in os.listdir(out)}
        expected = {"gaussian_encoder": {"mean": mean, "logvar": logvar}, "decoder": {"images": keras_model.decode(mean).numpy()},
                    "representation": {"default": mean}}.get(signature, {"images": None})
        assert set(outputs) == set(expected), (signature, set(outputs))
        for key, value in expected.items():
            if value is not None:
                np.testing.assert_allclose(outputs[key], value, rtol=1e-4, atol=1e-4)


def test_existing_model_dir_is_refused_unless_overwrite(trained_run, tmp_path):
    model_dir, results = trained_run
    config = [os.path.join(BASELINES, "vae.gin")]
    with pytest.raises(FileExistsError, match="--overwrite"):
        train_with_gin(model_dir, False, config, TINY)
    with open(os.path.join(model_dir, "model", "results", "json", "train_results.json")) as f:
        assert json.load(f)["uuid"] == results["uuid"]  # untouched
    other = tmp_path / "not_a_run"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="does not look like an output of this step"):
        train_with_gin(str(other), True, config, TINY)
    assert (other / "notes.txt").read_text() == "keep me"


@pytest.mark.slow
def test_overwrite_replaces_a_run(tmp_path):
    model_dir = str(tmp_path / "run")
    config = [os.path.join(BASELINES, "vae.gin")]
    first = train_with_gin(model_dir, False, config, TINY + ["model.training_steps = 1"])
    second = train_with_gin(model_dir, True, config, TINY + ["model.training_steps = 2"])
    assert first["global_step"] == 1 and second["global_step"] == 2
    with open(os.path.join(model_dir, "model", "results", "json", "train_results.json")) as f:
        assert json.load(f)["uuid"] == second["uuid"]


def test_unsupported_shape_fails_before_training(tmp_path):
    model_dir = str(tmp_path / "run")
    with pytest.raises(ValueError, match=r"conv_encoder supports square observations .* got \(40, 40, 1\)"):
        train_with_gin(model_dir, False, [os.path.join(BASELINES, "beta_tc_vae.gin")],
                       TINY + ["sprites.image_size = 40"])
    assert not os.path.exists(os.path.join(model_dir, "model"))


@pytest.mark.parametrize("config", sorted(os.listdir(BASELINES)))
def test_baseline_configs_parse_and_build_their_model(config):
    gin.clear_config()
    try:
        gin.parse_config_files_and_bindings([os.path.join(BASELINES, config)], [])
        model = gin.query_parameter("model.model").scoped_configurable_fn()
        stem = config[:-4]
        assert model.gin_name == {"dip_vae_i": "dip_vae", "dip_vae_ii": "dip_vae"}.get(stem, stem)
        assert (model.encoder_fn, model.decoder_fn, model.num_latent) == ("conv_encoder", "deconv_decoder", 10)
        assert gin.query_parameter("dataset.name") == "sprites"
        assert gin.query_parameter("model.training_steps") == 300000
    finally:
        gin.clear_config()


def _run_cli(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "bin", "rpu_train"), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.slow
def test_cli_refuses_an_existing_dir_and_lists_known_names(tmp_path):
    existing = tmp_path / "run"
    (existing / "model").mkdir(parents=True)
    config = os.path.join(BASELINES, "beta_tc_vae.gin")
    refused = _run_cli(f"--gin_config={config}", f"--model_dir={existing}")
    assert refused.returncode == 1  # an empty model/ is no run of this step (no claim, no results)
    assert "does not look like an output of this step" in refused.stderr and str(existing) in refused.stderr
    unknown = _run_cli(f"--gin_config={config}", "--gin_bindings=model.model = @beta_vae()",
                       f"--model_dir={tmp_path / 'new'}")
    assert unknown.returncode == 1
    assert "beta_vae" in unknown.stderr
    assert "models: annealed_vae, beta_tc_vae, dip_vae, factor_vae, vae" in unknown.stderr
    assert not (tmp_path / "new").exists()


def test_default_model_dir_and_explain():
    assert cli.default_model_dir(["gin_configs/quickstart.gin"]) == os.path.join("runs", "quickstart")
    message = cli.explain("No configurable matching 'conv_encodr'.")
    assert "encoders: conv_encoder, fc_encoder" in message and "data sets:" in message


def test_settings_that_would_fail_after_training_fail_before_it(tmp_path):
    # model.eval_steps = 0 used to fail after the last training step.
    config = os.path.join(BASELINES, "beta_tc_vae.gin")
    with pytest.raises(ValueError, match="model.eval_steps must be >= 1"):
        train_with_gin(str(tmp_path / "run"), False, [config], TINY + ["model.eval_steps = 0"])
    assert not os.path.exists(tmp_path / "run" / "model")


@pytest.mark.slow
def test_an_unwritable_run_directory_fails_before_training_in_one_line(tmp_path):
    # Its parent is a file (the same path as a read-only parent for a non-root user): the
    # directory cannot be made, which the run lock finds before anything trains.
    config = os.path.join(BASELINES, "beta_tc_vae.gin")
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    done = subprocess.run([sys.executable, "-m", "rpu_tf.cli.train", f"--model_dir={blocker / 'run'}",
                           f"--gin_config={config}"] + [f"--gin_bindings={b}" for b in TINY],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": ROOT})
    errors = [line for line in done.stderr.splitlines() if " ERROR rpu_train: " in line]
    assert done.returncode == 1 and len(errors) == 1 and "a_file" in errors[0], done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "Training 1 x" not in done.stderr


def test_the_keras_file_loads_in_safe_mode_for_untrusted_runs(trained_run):
    # README: a stranger's model is evaluated through its Keras file, loaded without running code.
    import keras

    from rpu_tf.training import mean_representation_function

    model_dir, _ = trained_run
    model = keras.saving.load_model(os.path.join(model_dir, "model", "model.keras"), safe_mode=True)
    reference = load_keras(os.path.join(model_dir, "model", "model.keras"))
    images = np.random.RandomState(0).rand(3, 64, 64, 1).astype(np.float32)
    np.testing.assert_allclose(mean_representation_function(model)(images),
                               mean_representation_function(reference)(images), rtol=1e-6)
