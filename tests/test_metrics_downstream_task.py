"""The downstream-task metric: parity with disentanglement_lib 1.5, its input checks, and its
two study configs through ``rpu_evaluate``.

Parity: both libraries get the same data, a fresh copy of the same representation function,
``np.random.RandomState(seed)`` and numpy's global state seeded identically (dlib's
``GradientBoostingClassifier()`` draws on it); dlib reads its predictor from gin, bound under
its full module path, ours gets it as an argument. The end-to-end check runs in a fresh
interpreter: dlib registers the same gin names (``downstream_task``, ``predictor``, ...).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings

import gin
import numpy as np
import pytest

from tests.helpers import metric_testdata as td
from tests.helpers.dlib_oracle import import_dlib

import rpu_tf.metrics as ours
from rpu_tf.metrics import downstream_task

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DLIB = "disentanglement_lib.evaluation.metrics."
PREDICTORS = {"boosted_trees": "gradient_boosting_classifier", "logistic_regression": "logistic_regression_cv"}

pytestmark = pytest.mark.usefixtures("clean_gin")


@pytest.fixture(scope="module")
def dlib():
    return {name: import_dlib(DLIB + name) for name in ("utils", "downstream_task")}


def run_both(dlib, predictor: str, rep: str, data, **sizes):
    """dlib's and our results, and where both random states ended."""
    gin.bind_parameter(DLIB + "utils.predictor.predictor_fn", getattr(dlib["utils"], PREDICTORS[predictor]))
    calls = (lambda f, rs: dlib["downstream_task"].compute_downstream_task(data, f, rs, **sizes),
             lambda f, rs: ours.compute_downstream_task(
                 data, f, rs, predictor_fn=getattr(ours.utils, PREDICTORS[predictor]), **sizes))
    results, states = [], []
    for call in calls:
        np.random.seed(1234)
        rs = np.random.RandomState(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # LogisticRegressionCV's convergence warnings
            results.append(call(td.REPRESENTATIONS[rep](data), rs))
        states.append((rs.randint(2 ** 31, size=4).tolist(), np.random.randint(2 ** 31, size=4).tolist()))
    assert states[0] == states[1], "a random state advanced differently"
    return results


DATASETS = {"grid3": lambda: td.ToyGrid((3, 4, 5, 2), (0, 1, 2), noise=0.1),
            "grid2": lambda: td.ToyGrid((2, 3, 2), (0, 1), noise=0.1)}
# LogisticRegressionCV fits 10 values of C on 5 folds per factor, up to 100 lbfgs iterations
# each (all of them on separable codes): seconds per factor. It is checked on the smaller grid
# with codes that are not separable, and on constant codes (it converges at once there).
CASES = [("boosted_trees", "disentangled", "grid3"), ("boosted_trees", "entangled", "grid3"),
         ("logistic_regression", "partly_collapsed", "grid2"), ("logistic_regression", "constant", "grid3")]


@pytest.mark.parametrize("predictor, rep, dataset", CASES)
def test_parity_with_dlib(dlib, predictor, rep, dataset):
    data = DATASETS[dataset]()
    expected, actual = run_both(dlib, predictor, rep, data, num_train=[20, 50], num_test=30, batch_size=7)
    assert list(actual) == list(expected)  # same keys, in dlib's order
    assert len(actual) == 2 * (4 + 2 * data.num_factors)
    diff = max(abs(float(actual[k]) - float(expected[k])) for k in expected)
    assert diff <= 1e-12, diff
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in actual.values())
    if rep == "disentangled":
        assert actual["50:mean_test_accuracy"] > 0.9


def test_offers_dlibs_public_functions(dlib):
    """Code written against dlib's ``downstream_task`` module runs against ours."""
    module = dlib["downstream_task"]
    public = [f for f, v in vars(module).items() if callable(v) and not f.startswith("_")
              and getattr(v, "__module__", "") == module.__name__]
    assert public == ["compute_downstream_task"]
    assert all(hasattr(downstream_task, f) for f in public)


def test_reads_the_predictor_from_gin_and_accepts_one_size():
    data = td.ToyGrid((2, 6, 3), None)
    gin.bind_parameter("rpu_tf.metrics.utils.predictor.predictor_fn", ours.utils.gradient_boosting_classifier)
    np.random.seed(0)
    via_gin = ours.compute_downstream_task(data, td.disentangled(data), np.random.RandomState(1),
                                           num_train=40, num_test=20)
    np.random.seed(0)
    explicit = ours.compute_downstream_task(data, td.disentangled(data), np.random.RandomState(1), num_train=[40],
                                            num_test=20, predictor_fn=ours.utils.gradient_boosting_classifier)
    assert via_gin == explicit
    assert sorted(k.split(":", 1)[0] for k in via_gin) == ["40"] * len(via_gin)


def test_bad_inputs_say_what_to_change():
    data = td.ToyGrid((2, 6, 3), None)
    fn = td.disentangled(data)
    lr = ours.utils.logistic_regression_cv
    for bad in ([], "100", [10, 0], [True]):
        with pytest.raises(ValueError, match="num_train"):
            ours.compute_downstream_task(data, fn, np.random.RandomState(0), num_train=bad, num_test=10,
                                         predictor_fn=lr)
    with pytest.raises(ValueError, match="factor 0 takes a single value"):
        downstream_task.compute_accuracies(np.ones((2, 5)), np.zeros((1, 5)), np.ones((2, 3)), np.zeros((1, 3)), lr)
    with pytest.raises(ValueError, match="bind predictor.predictor_fn"):
        ours.compute_downstream_task(data, fn, np.random.RandomState(0), num_train=[10], num_test=10)


CHILD = textwrap.dedent(r"""
    import json, os, sys
    import numpy as np
    import tensorflow as tf
    from rpu_tf.cli import evaluate
    from rpu_tf.data.sprites import Sprites
    from rpu_tf.evaluation import saved_models
    import rpu_tf.metrics as M

    work, metrics_dir = sys.argv[1], sys.argv[2]
    run = os.path.join(work, "run")
    grid = dict(image_size=16, num_scales=2, num_orientations=2, num_positions_x=2, num_positions_y=2)

    class Encoder(tf.Module):  # stands in for a trained model: sprite mass and centre
        @tf.function(input_signature=[tf.TensorSpec([None, 16, 16, 1], tf.float32, name="images")])
        def gaussian_encoder(self, images):
            img = images[..., 0]
            mass = tf.reduce_sum(img, axis=[1, 2]) + 1e-3
            ramp = tf.range(16, dtype=tf.float32)
            cx = tf.reduce_sum(img * ramp[None, None, :], axis=[1, 2]) / mass
            cy = tf.reduce_sum(img * ramp[None, :, None], axis=[1, 2]) / mass
            mean = tf.stack([mass / 256.0, cx / 16.0, cy / 16.0], axis=1)
            return {"mean": mean, "logvar": tf.zeros_like(mean)}

    encoder = Encoder()
    tf.saved_model.save(encoder, os.path.join(run, "model", "saved_model"),
                        signatures={"gaussian_encoder": encoder.gaussian_encoder})
    os.makedirs(os.path.join(run, "model", "results", "gin"))
    with open(os.path.join(run, "model", "results", "gin", "train.gin"), "w") as f:
        f.write("dataset.name = 'sprites'\n" + "".join(f"sprites.{k} = {v}\n" for k, v in grid.items()))
    small = ["downstream_task.num_train = [20]", "downstream_task.num_test = 20"]
    configs = [os.path.join(metrics_dir, f"downstream_task_{n}.gin") for n in ("boosted_trees", "logistic_regression")]
    code = evaluate.main(["rpu_evaluate", f"--model_dir={run}", "--representations=mean"]
                         + [f"--gin_config={c}" for c in configs] + [f"--gin_bindings={b}" for b in small])
    data = Sprites(**grid)
    fn = saved_models.representation_function(os.path.join(run, "postprocessed", "mean", "saved_model"))
    out = {"code": code}
    for name in ("boosted_trees", "logistic_regression"):
        results = os.path.join(run, "metrics", "mean", f"downstream_task_{name}", "results")
        with open(os.path.join(results, "json", "evaluation_results.json")) as f:
            written = json.load(f)
        with open(os.path.join(results, "json", "evaluation_config.json")) as f:
            config = json.load(f)
        out[name] = {"written": written, "config": config}
    np.random.seed(0)  # what rpu_evaluate does with evaluation.random_seed = 0
    out["direct"] = M.compute_downstream_task(data, fn, np.random.RandomState(0), num_train=[20], num_test=20,
                                              predictor_fn=M.utils.gradient_boosting_classifier)
    print(json.dumps(out))
""")


@pytest.mark.slow
def test_study_configs_run_through_rpu_evaluate(tmp_path):
    """Both gin files, unchanged but for smaller sizes, run through ``rpu_evaluate``
    (postprocessing, ``dataset.name = "auto"``, the seeded evaluation step, dlib's result
    layout); the boosted trees' numbers are those of a direct call (logistic regression's
    parity is checked above, and it is the slow one)."""
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), os.path.join(ROOT, "gin_configs", "metrics")],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["code"] == 0
    direct = out["direct"]
    assert len(direct) == 4 + 2 * 5 and direct["20:mean_test_accuracy"] > 0.3  # 5 sprite factors
    scores = {}
    for name, fn in PREDICTORS.items():
        written, config = out[name]["written"], out[name]["config"]
        scores[name] = {k: v for k, v in written.items() if k not in ("elapsed_time", "uuid")}
        assert list(scores[name]) == list(direct), name
        assert config["evaluation.evaluation_fn"] == "@downstream_task"
        assert config["predictor.predictor_fn"] == f"@{fn}"
        assert config["downstream_task.num_train"] == "[20]"
        assert config["dataset.name"] == "'sprites'"
    assert scores["boosted_trees"] == direct
    assert scores["logistic_regression"] != direct
