"""TensorFlow's C++ start-up notices are filtered once, before TensorFlow loads; other lines stay."""

import os
import subprocess
import sys

import pytest

from rpu_tf.utils.tf_startup import START_UP_NOTICES, split_start_up_lines

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What TensorFlow 2.21 wrote on a 2-core EPYC without a GPU (import, then the first device
# query), with a warning and a Python warning that must survive.
START_UP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796548562.678671   26444 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796548567.315872   26444 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
W0000 00:00:1796548568.000000   26444 some_kernel.cc:12] a warning someone should read
/venv/lib/python3.11/site-packages/keras/src/x.py:1: UserWarning: a Python warning
E0000 00:00:1796548570.442901   26444 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)
To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate compiler flags.
"""


def test_known_start_up_notices_are_dropped_and_everything_else_kept():
    kept, dropped = split_start_up_lines(START_UP)
    assert kept == ["W0000 00:00:1796548568.000000   26444 some_kernel.cc:12] a warning someone should read",
                    "/venv/lib/python3.11/site-packages/keras/src/x.py:1: UserWarning: a Python warning"]
    assert len(dropped) == 6


def _stderr_of(args, **env):
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environment.update(env, PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=environment, timeout=300)
    return done.returncode, done.stderr


@pytest.mark.slow
def test_a_command_starts_tensorflow_without_the_notices(tmp_path):
    # rpu_evaluate loads TensorFlow right after parsing its flags, then fails in one line.
    missing = str(tmp_path / "no_run")
    rc, stderr = _stderr_of(["-m", "rpu_tf.cli.evaluate", f"--model_dir={missing}",
                             f"--gin_config={os.path.join(ROOT, 'gin_configs', 'metrics', 'mig.gin')}"])
    assert rc != 0
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines and all(" ERROR rpu_evaluate: " in line for line in lines), stderr
    assert missing in stderr
    # Imported by the function, TensorFlow works as usual, and its notices stay away.
    code = ("from rpu_tf.utils.tf_startup import import_tensorflow_quietly as q; q(); import tensorflow as tf; "
            "import sys; print('product', float(tf.constant(2.0) * 3), file=sys.stderr)")
    rc, quiet = _stderr_of(["-c", code])
    assert rc == 0 and quiet.strip() == "product 6.0", quiet


def test_no_command_loads_tensorflow_before_it_can_load_it_quietly():
    # Each command's module must import without TensorFlow: the commands that use it load it
    # through import_tensorflow_quietly after parsing their flags, so a module-level import
    # (rpu_study's, once, through rpu_tf.studies) would print the notices before the filter.
    commands = ["train", "train_together", "evaluate", "visualize", "study", "compare", "aggregate",
                "download_data"]
    code = ("import importlib, sys\n"
            f"for name in {commands!r}:\n"
            "    importlib.import_module('rpu_tf.cli.' + name)\n"
            "    print(name, 'tensorflow' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": ROOT})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [word for name in commands for word in (name, "False")], done.stdout
