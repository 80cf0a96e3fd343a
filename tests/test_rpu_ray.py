"""The tiny rPU-VAE (every stage) with the Ray executor and 2 actors equals the local run,
with an actor killed in the middle of a VAE member's step.

Ray starts inside a loopback-only network namespace (``unshare --net``), with usage stats
off and its temporary files in the test's folder: no traffic leaves the machine.
"""

import os
import subprocess
import sys

import pytest

from tests.helpers.rpu_run import QUICKSTART, TINY_BASE, run_record
from conftest import can_isolate, run_isolated

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = [pytest.mark.skipif(not can_isolate(), reason="needs `unshare --net` (root) to isolate Ray's network"),
              pytest.mark.usefixtures("clean_gin")]


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    # In a process of its own, whose thread pools are the ones bound here: a process fixes them
    # at its first op, and float sums depend on the intra-op threads, which must be the Ray
    # actors' (rpu_ray_main.py binds the same); an earlier test in this process may have fixed others.
    run_dir = str(tmp_path_factory.mktemp("local") / "run")
    bindings = TINY_BASE + ["training.progress = False", f"training.intra_op_threads = {os.cpu_count() or 1}"]
    done = subprocess.run([sys.executable, "-m", "rpu_tf.cli.train", f"--gin_config={QUICKSTART}",
                           f"--model_dir={run_dir}", *[f"--gin_bindings={b}" for b in bindings]],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir


def _ray_run(base, ray_tmp, *marker):
    done = run_isolated([os.path.join(ROOT, "tests", "helpers", "rpu_ray_main.py"), base / "run", *marker], ray_tmp, 600)
    assert done.returncode == 0, done.stderr[-3000:]
    return str(base / "run"), done.stderr


@pytest.mark.slow
def test_rpu_vae_on_ray_actors_equals_the_local_run_also_when_an_actor_dies_mid_step(local_run, tmp_path_factory,
                                                                                     ray_tmp):
    # One Ray run does both checks (a run without a death would take as long again): every
    # stage on 2 actors, and one actor's process killed in the middle of a VAE member's step.
    pytest.importorskip("ray", reason="the Ray executor is the optional extra rpu_tf[ray]")
    base = tmp_path_factory.mktemp("ray")
    run_dir, log = _ray_run(base, ray_tmp, base / "crashed")
    assert (base / "crashed").exists() and "Ray actor died" in log  # an actor really died mid-step
    assert log.count("Ray executor: up to 2 member actors (1 CPU, 0 GPU each)") == 3  # initial, leaf-run, final
    # each actor took the driver's intra-op threads (rpu_ray_main.py: as the local run's) and
    # sized its inter-op pool to the one CPU it holds
    assert f"1 CPU(s), no GPU; threads intra_op={os.cpu_count() or 1}, inter_op=1" in log
    record = run_record(run_dir)
    assert {"stages/initial/pbt", "stages/leaf1_meta1/pbt", "pbt"} <= set(record)
    assert record == run_record(local_run)
