"""For tests/test_compat_dlib.py: disentanglement_lib's code beside rpu_train's modules in one
fresh interpreter, through rpu_tf.compat.dlib; prints one JSON line.

Usage: ``python tests/helpers/compat_dlib_run.py WORK_DIR`` (a small dSprites file is written there).
"""

from __future__ import annotations

import json
import os
import sys
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)


def _parses(files, bindings=()) -> str:
    import gin

    try:
        gin.parse_config_files_and_bindings(list(files), list(bindings), skip_unknown=True)
    except Exception as error:  # noqa: BLE001 -- the outcome is the answer
        return f"{type(error).__name__}: {error}"
    finally:
        gin.clear_config()
    return "parsed"


def main(work_dir: str) -> dict:
    import gin

    from tests.helpers import metric_testdata as td
    import rpu_tf.cli.train  # noqa: F401 -- rpu_train's modules, every rpu_tf gin name
    import rpu_tf.metrics as ours
    from rpu_tf import registry
    from rpu_tf.compat.dlib import dlib_gin, dlib_metric, import_dlib

    registry.register_gin_configurables()
    configs = os.path.join(os.path.dirname(import_dlib("disentanglement_lib.config.unsupervised_study_v1.sweep")
                                           .__file__), "metric_configs")
    our_configs = os.path.join(ROOT, "gin_configs", "metrics")
    data = td.ToyGrid((3, 4, 5, 2), (0, 1, 2), noise=0.1)
    out: dict = {}
    small = {"mig": (), "dci": ("dci.num_train = 1000", "dci.num_test = 500")}
    for metric, bindings in small.items():
        runs = {}
        for who in ("dlib", "rpu_tf"):
            np.random.seed(1234)
            rs = np.random.RandomState(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if who == "dlib":
                    runs[who] = dlib_metric(os.path.join(configs, f"{metric}.gin"), data, td.disentangled(data), rs,
                                            bindings)
                else:  # ours through our own config file, its names resolved by gin as rpu_evaluate does
                    gin.parse_config_files_and_bindings([os.path.join(our_configs, f"{metric}.gin")], list(bindings),
                                                        skip_unknown=True)
                    fn = {"mig": ours.compute_mig, "dci": ours.compute_dci}[metric]
                    runs[who] = fn(data, td.disentangled(data), rs)
                    gin.clear_config()
        out[metric] = {who: {k: float(v) for k, v in r.items()} for who, r in runs.items()}
    out["our_config_after_import"] = _parses([os.path.join(our_configs, "mig.gin")])
    with dlib_gin():
        out["its_binding_inside"] = _parses([], ["disentanglement_lib.evaluation.metrics.utils.discretizer"
                                                 ".num_bins = 20", "discretizer.discretizer_fn = @histogram_discretizer"])
        try:
            with dlib_gin():
                pass
            out["nested"] = "allowed"
        except RuntimeError as error:
            out["nested"] = f"RuntimeError: {error}"
    out["our_config_after_context"] = _parses([os.path.join(our_configs, "mig.gin")])
    out["dsprites"] = _dsprites(work_dir)
    return out


def _dsprites(work_dir: str) -> dict:
    """Its DSprites class and ours on the same small file in dSprites' format."""
    from tests.helpers.data_helpers import write_small_dsprites

    from rpu_tf.compat.dlib import import_dlib
    from rpu_tf.data import DSprites

    path = os.path.join(work_dir, "dsprites", "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz")
    write_small_dsprites(path)
    module = import_dlib("disentanglement_lib.data.ground_truth.dsprites")
    module.DSPRITES_PATH = path
    theirs, mine = module.DSprites([1, 2, 3, 4, 5]), DSprites([1, 2, 3, 4, 5], data_path=path)
    (f_theirs, x_theirs), (f_mine, x_mine) = (d.sample(32, np.random.RandomState(3)) for d in (theirs, mine))
    return {"factors_equal": theirs.num_factors == mine.num_factors and np.array_equal(f_theirs, f_mine),
            "max_abs_difference": float(np.max(np.abs(np.asarray(x_theirs, np.float64) - x_mine)))}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
