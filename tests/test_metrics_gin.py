"""disentanglement_lib's metric gin files parse unchanged against rpu_tf.metrics.

Runs in a fresh interpreter that imports only ``rpu_tf.metrics`` (dlib registers the same
short gin names, which would make them ambiguous in the test process). The child defines
stand-ins for dlib's ``evaluation`` and ``dataset`` scopes where rpu_tf does not register
them itself, parses each metric file verbatim
(strictly: every name must resolve), shrinks the sizes with extra bindings, runs the metric
through gin and compares with an explicit-argument call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Verbatim from disentanglement_lib 1.5 config/unsupervised_study_v1/metric_configs (and
# config/sample/irs, config/tests/methods/udr for IRS and UDR).
DLIB_GIN_FILES = {
    "mig": """
evaluation.evaluation_fn = @mig
dataset.name="auto"
evaluation.random_seed = 0
mig.num_train=10000
discretizer.discretizer_fn = @histogram_discretizer
discretizer.num_bins = 20
""",
    "dci": """
evaluation.evaluation_fn = @dci
dataset.name="auto"
evaluation.random_seed = 0
dci.num_train=10000
dci.num_test=5000
""",
    "sap_score": """
evaluation.evaluation_fn = @sap_score
dataset.name="auto"
evaluation.random_seed = 0
sap_score.num_train=10000
sap_score.num_test=5000
sap_score.continuous_factors=False
""",
    "factor_vae_metric": """
evaluation.evaluation_fn = @factor_vae_score
dataset.name="auto"
evaluation.random_seed = 0
factor_vae_score.num_variance_estimate=10000
factor_vae_score.num_train=10000
factor_vae_score.num_eval=5000
factor_vae_score.batch_size=64
prune_dims.threshold = 0.05
""",
    "beta_vae_sklearn": """
evaluation.evaluation_fn = @beta_vae_sklearn
dataset.name="auto"
evaluation.random_seed = 0
beta_vae_sklearn.batch_size=64
beta_vae_sklearn.num_train=10000
beta_vae_sklearn.num_eval=5000
""",
    "modularity_explicitness": """
evaluation.evaluation_fn = @modularity_explicitness
dataset.name="auto"
evaluation.random_seed = 0
modularity_explicitness.num_train=10000
modularity_explicitness.num_test=5000
discretizer.discretizer_fn = @histogram_discretizer
discretizer.num_bins = 20
""",
    "unsupervised": """
evaluation.evaluation_fn = @unsupervised_metrics
dataset.name="auto"
evaluation.random_seed = 0
unsupervised_metrics.num_train=10000
discretizer.discretizer_fn = @histogram_discretizer
discretizer.num_bins = 20
""",
    "irs": """
evaluation.evaluation_fn = @irs
dataset.name="auto"
evaluation.random_seed = 0
irs.num_train=10000
irs.batch_size=16
discretizer.num_bins=20
discretizer.discretizer_fn=@histogram_discretizer
""",
    "udr": """
evaluation.evaluation_fn = @udr_sklearn
dataset.name="auto"
evaluation.random_seed = 0
udr_sklearn.batch_size=10
udr_sklearn.num_data_points=1000
udr_sklearn.correlation_matrix="lasso"
udr_sklearn.filter_low_kl=True
udr_sklearn.include_raw_correlations=True
udr_sklearn.kl_filter_threshold = 0.01
""",
    "downstream_task_boosted_trees": """
evaluation.evaluation_fn = @downstream_task
dataset.name="auto"
evaluation.random_seed = 0
downstream_task.num_train=[10, 100,1000,10000]
downstream_task.num_test=5000
predictor.predictor_fn = @gradient_boosting_classifier
""",
    "downstream_task_logistic_regression": """
evaluation.evaluation_fn = @downstream_task
dataset.name="auto"
evaluation.random_seed = 0
downstream_task.num_train=[10, 100,1000,10000]
downstream_task.num_test=5000
predictor.predictor_fn = @logistic_regression_cv
""",
}

# Bindings that shrink the study sizes so the child runs in seconds.
SMALL = {
    "mig": ["mig.num_train = 300"],
    "dci": ["dci.num_train = 80", "dci.num_test = 40"],
    "sap_score": ["sap_score.num_train = 100", "sap_score.num_test = 50"],
    "factor_vae_metric": ["factor_vae_score.num_variance_estimate = 100", "factor_vae_score.num_train = 30",
                          "factor_vae_score.num_eval = 20", "factor_vae_score.batch_size = 8"],
    "beta_vae_sklearn": ["beta_vae_sklearn.num_train = 40", "beta_vae_sklearn.num_eval = 20",
                         "beta_vae_sklearn.batch_size = 8"],
    "modularity_explicitness": ["modularity_explicitness.num_train = 200", "modularity_explicitness.num_test = 100"],
    "unsupervised": ["unsupervised_metrics.num_train = 200"],
    "irs": ["irs.num_train = 200"],
    "udr": ["udr_sklearn.num_data_points = 100"],
    **{f"downstream_task_{p}": ["downstream_task.num_train = [20, 40]", "downstream_task.num_test = 20"]
       for p in ("boosted_trees", "logistic_regression")},
}

CHILD = textwrap.dedent(r"""
    import json, sys
    import numpy as np
    import gin
    import rpu_tf.metrics as M
    heavy_at_import = sorted(m for m in ("sklearn", "scipy", "tensorflow") if m in sys.modules)
    from tests.helpers import metric_testdata as td

    def registered(name):
        return bool(gin.config._REGISTRY.get_all_matches(name))

    # Stand-ins for dlib's pipeline scopes where rpu_tf does not (yet) register them.
    if not registered("evaluation"):
        @gin.configurable("evaluation")
        def evaluation(evaluation_fn=gin.REQUIRED, random_seed=gin.REQUIRED, name=""):
            pass
    if not registered("dataset"):
        @gin.configurable("dataset")
        def dataset(name=gin.REQUIRED):
            pass

    files, small = json.loads(sys.stdin.read())
    data = td.ToyGrid((3, 4, 5, 2), (0, 1, 2), noise=0.1)
    explicit = {
        "mig": lambda f, rs: M.compute_mig(data, f, rs, num_train=300, discretizer_fn=M.histogram_discretize,
                                           num_bins=20),
        "dci": lambda f, rs: M.compute_dci(data, f, rs, num_train=80, num_test=40),
        "sap_score": lambda f, rs: M.compute_sap(data, f, rs, num_train=100, num_test=50, continuous_factors=False),
        "factor_vae_metric": lambda f, rs: M.compute_factor_vae(data, f, rs, batch_size=8, num_train=30, num_eval=20,
                                                                num_variance_estimate=100, prune_threshold=0.05),
        "beta_vae_sklearn": lambda f, rs: M.compute_beta_vae_sklearn(data, f, rs, batch_size=8, num_train=40,
                                                                     num_eval=20),
        "modularity_explicitness": lambda f, rs: M.compute_modularity_explicitness(
            data, f, rs, num_train=200, num_test=100, discretizer_fn=M.histogram_discretize, num_bins=20),
        "unsupervised": lambda f, rs: M.compute_unsupervised_metrics(
            data, f, rs, num_train=200, discretizer_fn=M.histogram_discretize, num_bins=20),
        "irs": lambda f, rs: M.compute_irs(data, f, rs, num_train=200, batch_size=16,
                                           discretizer_fn=M.histogram_discretize, num_bins=20),
        "downstream_task_boosted_trees": lambda f, rs: M.compute_downstream_task(
            data, f, rs, num_train=[20, 40], num_test=20, predictor_fn=M.utils.gradient_boosting_classifier),
        "downstream_task_logistic_regression": lambda f, rs: M.compute_downstream_task(
            data, f, rs, num_train=[20, 40], num_test=20, predictor_fn=M.utils.logistic_regression_cv),
    }
    # Logistic regression (10 values of C on 5 folds, per factor) is slow on informative codes;
    # the gin wiring is checked on constant codes, and the predictor by its class.
    codes = {"downstream_task_logistic_regression": td.constant}
    out = {"heavy_at_import": heavy_at_import, "results": {}, "predictors": {}}
    for name, text in files.items():
        gin.clear_config()
        gin.parse_config(text)  # strict: unknown names raise
        gin.parse_config(small.get(name, []))
        fn, seed = gin.query_parameter("evaluation.evaluation_fn"), gin.query_parameter("evaluation.random_seed")
        fn = fn.scoped_configurable_fn  # the @reference resolves to our gin-wrapped function
        assert gin.query_parameter("dataset.name") == "auto"
        if name == "udr":
            models = [td.with_kl(td.noisy(data, seed=s), [1.0, 1.0, 1.0, 0.001]) for s in range(3)]
            via_gin = fn(data, models, np.random.RandomState(seed))
            gin.clear_config()
            models = [td.with_kl(td.noisy(data, seed=s), [1.0, 1.0, 1.0, 0.001]) for s in range(3)]
            direct = M.compute_udr_sklearn(data, models, np.random.RandomState(seed), batch_size=10,
                                           num_data_points=100, correlation_matrix="lasso")
            out["results"][name] = [via_gin["model_scores"], direct["model_scores"], fn.__name__]
            continue
        np.random.seed(0)
        via_gin = fn(data, codes.get(name, td.noisy)(data), np.random.RandomState(seed))
        if name.startswith("downstream_task"):
            out["predictors"][name] = type(M.utils.make_predictor_fn()()).__name__
        gin.clear_config()
        np.random.seed(0)
        direct = explicit[name](codes.get(name, td.noisy)(data), np.random.RandomState(seed))
        out["results"][name] = [via_gin, direct, fn.__name__]
    # A metric-only binding set (no evaluation/dataset scopes) parses strictly too.
    gin.clear_config()
    gin.parse_config(["mig.num_train=10000", "discretizer.discretizer_fn = @histogram_discretizer",
                      "discretizer.num_bins = 20", "surrogate_mig.num_train = 500", "surrogate_mig.batch_size = 32",
                      "prune_dims.threshold = 0.05", "udr_sklearn.kl_filter_threshold = 0.02"])
    out["query"] = [gin.query_parameter("mig.num_train"), gin.query_parameter("surrogate_mig.num_train")]
    out["heavy_at_end"] = sorted(m for m in ("tensorflow",) if m in sys.modules)
    print(json.dumps(out, default=float))
""")


def test_dlib_gin_files_parse_and_run_against_our_metrics():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.path.join(ROOT, "tests")]))
    proc = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps([DLIB_GIN_FILES, SMALL]),
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["heavy_at_import"] == []  # importing rpu_tf.metrics is cheap
    assert out["heavy_at_end"] == []  # and never pulls in TensorFlow
    assert out["query"] == [10000, 500]
    expected_fn = {"mig": "compute_mig", "dci": "compute_dci", "sap_score": "compute_sap",
                   "factor_vae_metric": "compute_factor_vae", "beta_vae_sklearn": "compute_beta_vae_sklearn",
                   "modularity_explicitness": "compute_modularity_explicitness",
                   "unsupervised": "unsupervised_metrics", "irs": "compute_irs", "udr": "compute_udr_sklearn",
                   "downstream_task_boosted_trees": "compute_downstream_task",
                   "downstream_task_logistic_regression": "compute_downstream_task"}
    results = out["results"]
    assert out["predictors"] == {"downstream_task_boosted_trees": "GradientBoostingClassifier",
                                 "downstream_task_logistic_regression": "LogisticRegressionCV"}
    for name, fn_name in expected_fn.items():
        via_gin, direct, resolved = results[name]
        assert resolved == fn_name, name
        assert via_gin == direct, name
