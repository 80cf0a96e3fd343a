"""A study on a Ray cluster: runs spread over the nodes as tasks, as many at once as the
cluster holds, the same results as the local study, and a worker node killed mid-study
costs nothing that a rerun does not complete.

Ray starts inside a loopback-only network namespace (``unshare --net``), with usage stats
off and its temporary files in the test's folder: no traffic leaves the machine.
"""

import json
import os

import pytest

from conftest import can_isolate, run_isolated

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
@pytest.mark.skipif(not can_isolate(), reason="needs `unshare --net` (root) to isolate Ray's network")
def test_a_study_on_a_three_node_cluster_schedules_survives_a_dead_node_and_equals_the_local_study(tmp_path,
                                                                                                  ray_tmp):
    pytest.importorskip("ray", reason="the Ray executor is the optional extra rpu_tf[ray]")
    proc = run_isolated([os.path.join(ROOT, "tests", "helpers", "study_ray_main.py"), tmp_path], ray_tmp, 600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # 6 units of 3 s on 3 CPUs: 3 at a time, about 2 rounds from the first start to the last
    # end, not 6 (each task's worker process starts when Ray first needs it, before that)
    scheduling = result["scheduling"]
    assert scheduling["at_once"] == 3
    assert scheduling["rounds"] < 3.0, scheduling
    assert result["killed"]["killed_processes"] > 0  # worker B really died during the study
    assert set(result["first"]) == {"b1/seed0", "b4/seed0", "b6/seed0", "b8/seed0"}
    assert set(result["again"].values()) == {"done"}
    assert set(result["local"].values()) == {"done"}
    assert result["ray_mig"] == pytest.approx(result["local_mig"], abs=1e-6)
