"""disentanglement_lib's own metric functions, data classes and gin configs in the same process as
rpu_train's modules, through ``rpu_tf.compat.dlib``: no ambiguous gin name either way, and the
same numbers as rpu_tf.

Runs in a fresh interpreter (``tests/helpers/compat_dlib_run.py``): the other test modules import
disentanglement_lib without hiding its gin names (the parity tests bind them by full path).
"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    pytest.importorskip("disentanglement_lib", reason="disentanglement_lib 1.5 is the test oracle "
                        "(pip install --no-deps disentanglement-lib==1.5)")
    done = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "helpers", "compat_dlib_run.py"),
                           str(tmp_path_factory.mktemp("dsprites"))], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_its_mig_and_dci_with_its_own_configs_match_ours(result):
    for metric in ("mig", "dci"):
        theirs, ours = result[metric]["dlib"], result[metric]["rpu_tf"]
        assert set(theirs) == set(ours)
        for key in theirs:
            assert abs(theirs[key] - ours[key]) <= 1e-6, (metric, key, theirs[key], ours[key])


def test_gin_names_are_never_ambiguous_either_way(result):
    assert result["our_config_after_import"] == "parsed"  # rpu_tf's mig.gin with dlib imported
    assert result["our_config_after_context"] == "parsed"  # and after dlib_gin() was left
    assert result["its_binding_inside"] == "parsed"  # its @histogram_discretizer inside dlib_gin()
    assert result["nested"].startswith("RuntimeError")


def test_its_dsprites_class_on_a_dsprites_file_equals_ours(result):
    assert result["dsprites"]["factors_equal"]
    assert result["dsprites"]["max_abs_difference"] == 0.0
