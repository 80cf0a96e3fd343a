"""The Ray executor gives the same generation log as the local one, and survives a dead actor.

Ray starts inside a loopback-only network namespace (``unshare --net``), with usage stats
off and its temporary files in the test's folder: no traffic leaves the machine.
"""

import os
import shutil
import subprocess
import sys

import pytest

from rpu_tf.pbt import read_generation_log
from tests.pbt_toy import make_pbt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _can_isolate() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True)
    return probe.returncode == 0


def _without_wall_time(run_dir):
    return [{k: v for k, v in r.items() if k != "wall_time"} for r in read_generation_log(run_dir)]


@pytest.mark.skipif(not _can_isolate(), reason="needs `unshare --net` (root) to isolate Ray's network")
def test_ray_executor_matches_local_and_restarts_a_dead_actor(tmp_path_factory, ray_tmp):
    pytest.importorskip("ray", reason="the Ray executor is the optional extra rpu_tf[ray]")
    base = tmp_path_factory.mktemp("ray")
    make_pbt(str(base / "local")).run()
    env = dict(os.environ, PYTHONPATH=ROOT, RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled",
               RAY_TMPDIR=ray_tmp, RAY_DISABLE_DOCKER_CPU_WARNING="1")
    marker = base / "crashed"
    script = (f"ip link set lo up && exec {sys.executable} {os.path.join(ROOT, 'tests', 'pbt_ray_main.py')} "
              f"{base / 'ray_run'} {marker}")
    proc = subprocess.run(["unshare", "--net", "bash", "-c", script], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert marker.exists()  # an actor really died mid-run
    assert "Ray actor died" in proc.stderr
    assert _without_wall_time(base / "ray_run") == _without_wall_time(base / "local")
