"""A disk that fills during a run, then is read-only: one line naming the file and what to do
each time, and the same command resumes to the run a roomy disk gives, once space is freed and
the disk writable (a tmpfs in a private mount namespace; skipped where mounting is not allowed)."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = "mkdir -p /tmp/.rpu_mount_probe && mount -t tmpfs -o size=1m tmpfs /tmp/.rpu_mount_probe"
    return subprocess.run(["unshare", "--mount", "bash", "-c", probe], capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _can_mount(), reason="needs `unshare --mount` and tmpfs mounts (root)")
def test_a_full_then_read_only_disk_is_one_line_each_and_the_run_resumes_identically(tmp_path):
    from rpu_tf.training.export import load_keras

    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    outcome = {}
    for name, free_kib in (("full", 7200), ("roomy", 9000)):
        mount = str(tmp_path / name)
        done = subprocess.run(["unshare", "--mount", "bash", os.path.join(ROOT, "tests", "helpers", "full_disk_run.sh"), mount,
                               str(free_kib), sys.executable, ROOT, "1" if name == "full" else "0"],
                              capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        outcome[name] = dict(line.split("=") for line in done.stdout.split())
        outcome[name]["log"] = open(mount + ".first.log").read()
        outcome[name]["weights"] = load_keras(os.path.join(mount + ".model", "model.keras")).get_weights()
    full = outcome["full"]
    assert full["first"] == "1" and full.get("readonly") == "1" and full.get("second") == "0", full
    errors = [line for line in full["log"].splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "no space left on device" in errors[0] and "run the same command again" in errors[0]
    assert "Traceback" not in full["log"]
    read_only = open(str(tmp_path / "full") + ".readonly.log").read()  # the stopped run, on a read-only disk
    errors = [line for line in read_only.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "Traceback" not in read_only, read_only[-3000:]
    assert "read-only file system" in errors[0].lower() and str(tmp_path / "full") in errors[0]
    assert "run the same command again" in errors[0]
    assert outcome["roomy"]["first"] == "0"
    for a, b in zip(full["weights"], outcome["roomy"]["weights"]):
        np.testing.assert_array_equal(a, b)
