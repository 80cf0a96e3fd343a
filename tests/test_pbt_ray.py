"""The Ray executor gives the same generation log as the local one, and survives a dead actor.

Ray starts inside a loopback-only network namespace (``unshare --net``), with usage stats
off and its temporary files in the test's folder: no traffic leaves the machine.
"""

import os

import pytest

from conftest import can_isolate, run_isolated
from rpu_tf.pbt import read_generation_log
from tests.pbt_toy import make_pbt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _without_wall_time(run_dir):
    return [{k: v for k, v in r.items() if k != "wall_time"} for r in read_generation_log(run_dir)]


@pytest.mark.skipif(not can_isolate(), reason="needs `unshare --net` (root) to isolate Ray's network")
def test_ray_executor_matches_local_and_restarts_a_dead_actor(tmp_path_factory, ray_tmp):
    pytest.importorskip("ray", reason="the Ray executor is the optional extra rpu_tf[ray]")
    base = tmp_path_factory.mktemp("ray")
    make_pbt(str(base / "local")).run()
    marker = base / "crashed"
    proc = run_isolated([os.path.join(ROOT, "tests", "pbt_ray_main.py"), base / "ray_run", marker], ray_tmp, 300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert marker.exists()  # an actor really died mid-run
    assert "Ray actor died" in proc.stderr
    assert _without_wall_time(base / "ray_run") == _without_wall_time(base / "local")
