"""rpu_evaluate / rpu_visualize end to end on a tiny trained model, checked against dlib 1.5.

The model is trained, evaluated (MIG and DCI, mean and sampled) and visualized once, in a
fresh interpreter (tests/helpers/evaluation_run.py); the tests read what it wrote.
"""

from __future__ import annotations

import glob
import inspect
import json
import os
import subprocess
import sys

import gin
import numpy as np
import pytest

from tests.helpers.dlib_oracle import import_dlib
from rpu_tf.cli import aggregate as aggregate_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPRESENTATIONS = ("mean", "sampled")
METRICS = ("mig", "dci")
# dlib's metric gin scopes list every parameter after these (its blacklist).
DLIB_DENYLIST = {"ground_truth_data", "representation_function", "random_state", "artifact_dir"}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    work = tmp_path_factory.mktemp("evaluation")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "helpers", "evaluation_run.py"), str(work)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0, proc.stderr[-4000:]
    codes = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"run": str(work / "run"), "codes": codes, "log": proc.stderr, "work": work}


def _json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _results(run, representation, metric, name):
    return _json(os.path.join(run, "metrics", representation, metric, "results", *name))


@pytest.mark.slow
def test_exit_codes_and_messages(evaluated):
    codes, log = evaluated["codes"], evaluated["log"]
    assert codes == {"evaluate": 0, "again": 1, "sap": 0, "stale": 1, "visualize": 0, "visualize_kept": True}
    assert "Evaluation output already exists" in log and "--overwrite" in log
    assert "Cannot reuse the postprocessed representation(s) " in log
    assert "made from another trained model or with other postprocessing settings" in log


def test_writes_dlib_layout(evaluated):
    run = evaluated["run"]
    for representation in REPRESENTATIONS:
        post = os.path.join(run, "postprocessed", representation)
        assert os.path.isfile(os.path.join(post, "saved_model", "saved_model.pb"))
        for rel in ("gin/postprocess.gin", "gin/train.gin", "json/postprocess_config.json",
                    "json/postprocess_results.json", "json/train_results.json",
                    "aggregate/postprocess.json"):
            assert os.path.isfile(os.path.join(post, "results", rel)), rel
        for metric in METRICS:
            results = os.path.join(run, "metrics", representation, metric, "results")
            for rel in ("gin/evaluation.gin", "gin/postprocess.gin", "gin/train.gin",
                        "json/evaluation_config.json", "json/evaluation_results.json",
                        "json/postprocess_config.json", "json/postprocess_results.json",
                        "json/train_config.json", "json/train_results.json",
                        "aggregate/evaluation.json"):
                assert os.path.isfile(os.path.join(results, rel)), rel
    assert sorted(os.listdir(os.path.join(run, "metrics", "mean"))) == ["dci", "mig", "sap_score"]
    assert sorted(os.listdir(os.path.join(run, "metrics", "sampled"))) == ["dci", "mig"]


def test_result_keys_are_dlibs(evaluated):
    """evaluation_results.json: dlib's metric keys + elapsed_time + uuid (dlib computes the keys)."""
    from tests.helpers import metric_testdata as td

    dlib_mig = import_dlib("disentanglement_lib.evaluation.metrics.mig")
    dlib_dci = import_dlib("disentanglement_lib.evaluation.metrics.dci")
    dlib_utils = import_dlib("disentanglement_lib.evaluation.metrics.utils")
    data = td.ToyGrid((3, 4), (0, 1), noise=0.1)
    dlib_discretizer = "disentanglement_lib.evaluation.metrics.utils.discretizer."
    gin.clear_config()
    gin.bind_parameter(dlib_discretizer + "discretizer_fn", dlib_utils._histogram_discretize)
    gin.bind_parameter(dlib_discretizer + "num_bins", 10)
    try:
        dlib_keys = {
            "mig": set(dlib_mig.compute_mig(data, td.noisy(data), np.random.RandomState(0), num_train=100)),
            "dci": set(dlib_dci.compute_dci(data, td.noisy(data), np.random.RandomState(0), num_train=60,
                                            num_test=30)),
        }
    finally:
        gin.clear_config()
    for representation in REPRESENTATIONS:
        for metric in METRICS:
            results = _results(evaluated["run"], representation, metric, ["json", "evaluation_results.json"])
            assert set(results) == dlib_keys[metric] | {"elapsed_time", "uuid"}
            assert results["elapsed_time"] > 0
            assert all(np.isfinite(v) for k, v in results.items() if k != "uuid")


def test_config_values_are_gin_strings_with_dlibs_keys(evaluated):
    dlib_mig = import_dlib("disentanglement_lib.evaluation.metrics.mig")
    dlib_dci = import_dlib("disentanglement_lib.evaluation.metrics.dci")
    dlib_utils = import_dlib("disentanglement_lib.evaluation.metrics.utils")

    def params(fn, scope, denylist=DLIB_DENYLIST):
        names = inspect.signature(inspect.unwrap(fn)).parameters
        return {f"{scope}.{p}" for p in names if p not in denylist}

    # What dlib's operative config holds for its study configs: the evaluation step's and
    # the metric's parameters (and the discretizer's for MIG), plus dataset.name.
    evaluation = {"evaluation.evaluation_fn", "evaluation.random_seed", "evaluation.name", "dataset.name"}
    dlib_keys = {
        "mig": evaluation | params(dlib_mig.compute_mig, "mig")
        | params(dlib_utils.make_discretizer, "discretizer", {"target"}),
        "dci": evaluation | params(dlib_dci.compute_dci, "dci"),
    }
    assert dlib_keys["mig"] >= {"mig.num_train", "mig.batch_size", "discretizer.num_bins"}
    train = _json(os.path.join(evaluated["run"], "model", "results", "json", "train_config.json"))
    for representation in REPRESENTATIONS:
        for metric in METRICS:
            config = _results(evaluated["run"], representation, metric, ["json", "evaluation_config.json"])
            assert dlib_keys[metric] <= set(config), dlib_keys[metric] - set(config)
            assert all(isinstance(v, str) for v in config.values())
            assert config["evaluation.evaluation_fn"] == f"@{metric}"
            assert config["evaluation.name"] == f"'{metric}'"
            assert config["evaluation.random_seed"] == "0"
            # dataset.name = "auto" resolved to the training data set, with its grid.
            assert config["dataset.name"] == "'sprites'"
            for key in ("sprites.num_orientations", "sprites.num_positions_x", "sprites.num_positions_y"):
                assert config[key] == train[key] == ("2" if key.endswith("orientations") else "4")
    mig = _results(evaluated["run"], "mean", "mig", ["json", "evaluation_config.json"])
    assert mig["mig.num_train"] == "300" and mig["discretizer.num_bins"] == "20"
    assert mig["discretizer.discretizer_fn"] == "@histogram_discretizer"


def test_aggregate_chains_the_steps(evaluated):
    run = evaluated["run"]
    train = _json(os.path.join(run, "model", "results", "json", "train_results.json"))
    for representation in REPRESENTATIONS:
        post = _json(os.path.join(run, "postprocessed", representation, "results", "json",
                                  "postprocess_results.json"))
        post_config = _json(os.path.join(run, "postprocessed", representation, "results", "json",
                                         "postprocess_config.json"))
        assert post_config["postprocess.postprocess_fn"] == f"@{representation}_representation"
        assert post_config["postprocess.name"] == f"'{representation}'"
        for metric in METRICS:
            aggregate = _results(run, representation, metric, ["aggregate", "evaluation.json"])
            results = _results(run, representation, metric, ["json", "evaluation_results.json"])
            assert aggregate["train_results.uuid"] == train["uuid"]
            assert aggregate["postprocess_results.uuid"] == post["uuid"]
            assert aggregate["evaluation_results.uuid"] == results["uuid"]
            assert aggregate["train_config.model.name"] == "'beta_tc_vae'"
            assert aggregate["train_results.global_step"] == 60
    # sap_score reused postprocessed/mean: same postprocess uuid as mig's.
    sap = _results(run, "mean", "sap_score", ["aggregate", "evaluation.json"])
    mig = _results(run, "mean", "mig", ["aggregate", "evaluation.json"])
    assert sap["postprocess_results.uuid"] == mig["postprocess_results.uuid"]
    assert 0.0 <= sap["evaluation_results.SAP_score"] <= 1.0


def test_representations_mean_and_sampled(evaluated):
    import tensorflow as tf

    run = evaluated["run"]
    images = np.random.RandomState(0).uniform(size=(6, 64, 64, 1)).astype(np.float32)
    encoder = tf.saved_model.load(os.path.join(run, "model", "saved_model")).signatures["gaussian_encoder"]
    encoded = encoder(images=tf.constant(images))

    def representation(name):
        path = os.path.join(run, "postprocessed", name, "saved_model")
        return tf.saved_model.load(path).signatures["representation"]

    mean = representation("mean")(images=tf.constant(images))["default"].numpy()
    np.testing.assert_allclose(mean, encoded["mean"].numpy(), rtol=1e-5, atol=1e-6)
    sampled_fn = representation("sampled")
    first = sampled_fn(images=tf.constant(images))["default"].numpy()
    second = sampled_fn(images=tf.constant(images))["default"].numpy()
    again = representation("sampled")(images=tf.constant(images))["default"].numpy()
    assert first.shape == mean.shape and not np.allclose(first, mean)
    assert not np.allclose(first, second)  # fresh noise every call
    np.testing.assert_array_equal(first, again)  # the seeded generator is saved with it
    # The noise has the encoder's scale: standardised residuals ~ N(0, 1).
    z = (first - encoded["mean"].numpy()) / np.exp(encoded["logvar"].numpy() / 2)
    assert 0.3 < float(np.std(z)) < 2.0


def dlib_aggregate_results():
    """dlib's utils.aggregate_results; it imports simplejson, which only its writer uses
    (its loader is pandas.read_json): stand in the standard json module if it is missing."""
    try:
        import simplejson  # noqa: F401
    except ImportError:
        sys.modules["simplejson"] = json
    return import_dlib("disentanglement_lib.utils.aggregate_results")


def _write_dlib_result(folder, model_name, dataset, mig):
    """A result directory as disentanglement_lib 1.5's dlib_reproduce writes it (by hand)."""
    aggregate = {
        "train_config.dataset.name": f"'{dataset}'", "train_config.model.name": f"'{model_name}'",
        "train_config.model.model": "@vae()", "train_config.vae.beta": "4.0",
        "train_config.model.random_seed": "3", "train_results.loss": 60.5,
        "train_results.uuid": "d1e2", "postprocess_config.postprocess.name": "'mean'",
        "postprocess_config.postprocess.postprocess_fn": "@mean_representation",
        "postprocess_results.elapsed_time": 1.5, "evaluation_config.evaluation.name": "'mig'",
        "evaluation_config.evaluation.evaluation_fn": "@mig", "evaluation_config.mig.num_train": "10000",
        "evaluation_config.dataset.name": f"'{dataset}'", "evaluation_results.discrete_mig": mig,
        "evaluation_results.elapsed_time": 12.0, "evaluation_results.uuid": "f00d",
    }
    path = os.path.join(folder, "metrics", "mean", "mig", "results", "aggregate", "evaluation.json")
    os.makedirs(os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as f:
        json.dump(aggregate, f, indent=2)
    return path


def test_aggregate_mixes_ours_and_dlibs_and_dlib_loads_it(evaluated, tmp_path):
    run = evaluated["run"]
    zoo = tmp_path / "zoo"
    dlib_file = _write_dlib_result(str(zoo / "17"), "beta_vae", "dsprites_full", 0.25)
    output = str(tmp_path / "results.json")
    ours = os.path.join(run, "metrics", "*", "*", "results", "aggregate", "evaluation.json")
    code = aggregate_cli.main(["rpu_aggregate", f"--result_file_pattern={ours}",
                               f"--result_file_pattern={zoo}", f"--output_path={output}"])
    assert code == 0
    aggregate_results = dlib_aggregate_results()
    frame = aggregate_results.load_aggregated_json_results(output)
    assert len(frame) == 6  # 2 representations x 2 metrics + sap_score (mean), + 1 dlib row
    paths = list(frame["path"])
    assert dlib_file in paths
    for path in glob.glob(ours):
        row = frame[frame["path"] == path].iloc[0]
        expected = _json(path)
        for key in ("evaluation_results.discrete_mig", "evaluation_results.disentanglement",
                    "train_results.reconstruction_loss"):
            if key in expected:
                assert row[key] == pytest.approx(expected[key], rel=1e-12)
            else:
                assert row[key] != row[key] or row[key] is None  # NaN: no value in this row
        assert row["train_config.dataset.name"] == "'sprites'"
    dlib_row = frame[frame["path"] == dlib_file].iloc[0]
    assert dlib_row["evaluation_results.discrete_mig"] == 0.25
    assert dlib_row["train_config.model.name"] == "'beta_vae'"
    # The same table as pandas builds from the rows (what dlib's aggregate_results writes).
    import pandas as pd

    rows = [dict(_json(p), path=p) for p in sorted(glob.glob(ours)) + [dlib_file]]
    reference = pd.DataFrame(rows)
    assert sorted(frame.columns) == sorted(reference.columns)


def _pixels(path):
    from PIL import Image, ImageSequence

    with Image.open(path) as image:
        return image.format, [np.asarray(frame.convert("RGB"), dtype=np.float64)
                              for frame in ImageSequence.Iterator(image)]


def test_visualizations_are_valid_non_constant_images(evaluated):
    out = os.path.join(evaluated["run"], "visualizations")
    pngs = sorted(glob.glob(os.path.join(out, "*", "*.png")))
    rel = {os.path.relpath(p, out) for p in pngs}
    assert {"reconstructions/reconstructions.png", "sampled/samples.png", "traversals/latents.png"} <= rel
    assert {f"traversals/traversals{i}.png" for i in range(4)} <= rel
    for path in pngs:
        fmt, frames = _pixels(path)
        assert fmt == "PNG" and len(frames) == 1 and frames[0].std() > 0, path
    fmt, (recon,) = _pixels(os.path.join(out, "reconstructions", "reconstructions.png"))
    assert recon.shape == (8 * 64, 8 * 128, 3)  # 8x8 pairs of 64x64 images
    fmt, (traversal,) = _pixels(os.path.join(out, "traversals", "traversals0.png"))
    assert traversal.shape == (11 * 64, 4 * 64, 3)  # 11 values x 4 latents
    assert traversal[:, :64].std() > 0  # the decoded images themselves vary
    gifs = sorted(glob.glob(os.path.join(out, "animated_traversals", "*.gif")))
    assert [os.path.basename(g) for g in gifs] == [
        "conf_interval_cycle0.gif", "fitted_gaussian_cycle0.gif", "fixed_interval_cycle0.gif",
        "minmax_interval_cycle0.gif", "std_gaussian_cycle0.gif"]
    for path in gifs:
        fmt, frames = _pixels(path)
        assert fmt == "GIF" and len(frames) == 4, path
        assert all(f.std() > 0 for f in frames)
        assert max(np.abs(f - frames[0]).max() for f in frames) > 0, path  # it moves
