"""The Ray executor gives the same generation log as the local one, and survives a dead actor.

Ray starts inside a loopback-only network namespace (``unshare --net``), with usage stats
off and its temporary files in the test's folder: no traffic leaves the machine.
"""

import os

import pytest

from conftest import can_isolate, run_isolated
from rpu_tf.pbt import read_generation_log
from tests.helpers.pbt_toy import make_pbt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _without_wall_time(run_dir):
    return [{k: v for k, v in r.items() if k != "wall_time"} for r in read_generation_log(run_dir)]


@pytest.mark.slow
@pytest.mark.skipif(not can_isolate(), reason="needs `unshare --net` (root) to isolate Ray's network")
def test_ray_executor_matches_local_and_restarts_a_dead_actor(tmp_path_factory, ray_tmp):
    pytest.importorskip("ray", reason="the Ray executor is the optional extra rpu_tf[ray]")
    base = tmp_path_factory.mktemp("ray")
    make_pbt(str(base / "local")).run()
    marker = base / "crashed"
    proc = run_isolated([os.path.join(ROOT, "tests", "helpers", "pbt_ray_main.py"), base / "ray_run", marker], ray_tmp, 300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert marker.exists()  # an actor really died mid-run
    assert "Ray actor died" in proc.stderr
    assert _without_wall_time(base / "ray_run") == _without_wall_time(base / "local")


def test_actors_that_fit_the_cluster_count_cpus_and_gpus():
    from rpu_tf.pbt.ray_executor import actors_that_fit

    assert actors_that_fit({"CPU": 16.0}, 1.0, 0.0) == 16
    assert actors_that_fit({"CPU": 16.0}, 3.0, 0.0) == 5
    assert actors_that_fit({"CPU": 16.0, "GPU": 1.0}, 2.0, 0.25) == 4  # 4 members share one GPU
    assert actors_that_fit({"CPU": 2.0, "GPU": 8.0}, 1.0, 1.0) == 2  # CPUs bound before GPUs do
    assert actors_that_fit({"CPU": 2.0}, 1.0, 1.0) == 0  # no GPU: nothing fits


@pytest.mark.parametrize("kwargs", [{"num_cpus_per_member": -1}, {"num_gpus_per_member": -0.5},
                                    {"max_concurrent_members": 0}])
def test_ray_executor_rejects_impossible_resources_in_one_message(kwargs):
    from rpu_tf.pbt.ray_executor import RayExecutor

    with pytest.raises(ValueError, match="ray_executor"):
        RayExecutor(lambda: None, **kwargs)


_WORKER_SCRIPT = """
import pickle, sys, tensorflow as tf
from rpu_tf.pbt.ray_executor import _MemberWorker

with open(sys.argv[1], "rb") as f:
    factory = pickle.load(f)  # as Ray hands the factory to a new actor
worker = _MemberWorker(factory, num_cpus=float(sys.argv[2]), num_gpus=0.0)
print(worker.ready()["setup"])
print("threads", tf.config.threading.get_intra_op_parallelism_threads(),
      tf.config.threading.get_inter_op_parallelism_threads())
"""


@pytest.mark.slow
@pytest.mark.parametrize("num_cpus, num_replicas, expected", [(0.5, 5, (1, 1)), (4.0, 5, (1, 4))])
def test_a_member_actor_sizes_its_thread_pools_to_the_cpus_it_holds(num_cpus, num_replicas, expected, tmp_path):
    import pickle
    import subprocess
    import sys

    from rpu_tf.data.sprites import Sprites
    from rpu_tf.rpu.scoring import UDRScore
    from rpu_tf.rpu.vae_member import VAEMemberFactory
    from tests.helpers.training_helpers import fc_model

    factory = VAEMemberFactory(fc_model(), Sprites(image_size=16), scorer=UDRScore(), num_replicas=num_replicas)
    (tmp_path / "factory.pkl").write_bytes(pickle.dumps(factory))
    done = subprocess.run([sys.executable, "-c", _WORKER_SCRIPT, tmp_path / "factory.pkl", str(num_cpus)],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH=ROOT))
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"threads {expected[0]} {expected[1]}" in done.stdout, done.stderr[-2000:]
    assert f"{num_cpus:g} CPU(s), no GPU; threads intra_op={expected[0]}, inter_op={expected[1]} " \
           f"for {num_replicas} replica(s)" in done.stdout
