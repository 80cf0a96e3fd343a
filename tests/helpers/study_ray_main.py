"""A study on a Ray cluster of a head and two worker nodes started with ``ray start`` (called by
tests/test_studies_ray.py inside a loopback-only network namespace); prints one JSON line.

Usage: ``python tests/helpers/study_ray_main.py WORK_DIR``. The head holds no CPUs, worker A 1 and
worker B 2, so 3 one-CPU tasks run at a time. It measures:

1. scheduling: 6 units of known duration (``SleepLauncher``) on the cluster: how many ran at
   once and how long all took;
2. a tiny study with ``study.executor = "ray"`` (a train group of two models and two models
   alone, evaluated with MIG): worker B is killed (SIGKILL of its raylet and workers) while its
   tasks train; the study finishes; a rerun completes what failed;
3. the same study with the local executor in this process, for the results to compare.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
os.environ["RPU_NUM_CPUS"] = "1"  # the local reference trains with the thread pools of a 1-CPU task

RAY = os.path.join(os.path.dirname(sys.executable), "ray")
HEAD_PORT, NODE_B_PORT = 6390, 6391
ADDRESS = f"127.0.0.1:{HEAD_PORT}"


def _ray_start(*args: str) -> None:
    env = dict(os.environ, RAY_health_check_period_ms="500", RAY_health_check_failure_threshold="4")
    subprocess.run([RAY, "start", "--node-ip-address=127.0.0.1", "--disable-usage-stats", *args], env=env,
                   check=True, capture_output=True)


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
                with open(f"/proc/{name}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            out[int(name)] = (ppid, cmd)
    return out


def _kill_tree(match: str) -> int:
    """SIGKILLs every process whose command line contains ``match`` and all their descendants."""
    procs = _processes()
    doomed = {pid for pid, (_, cmd) in procs.items() if match in cmd and pid != os.getpid()}
    grew = True
    while grew:
        children = {pid for pid, (ppid, _) in procs.items() if ppid in doomed} - doomed
        doomed |= children
        grew = bool(children)
    for pid in doomed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(doomed)


class SleepLauncher:
    """A job of known duration: sleeps, and writes when it started and ended into its log."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __call__(self, job, log_path: str) -> int:
        start = time.time()
        time.sleep(self.seconds)
        with open(log_path, "a") as f:
            f.write(f"{start} {time.time()}\n")
        return 0


def _scheduling(work_dir: str) -> dict:
    from rpu_tf.studies import TrainJob
    from rpu_tf.studies.ray_runs import RayStudyExecutor
    from rpu_tf.studies.work import RunWork, WorkUnit

    executor = RayStudyExecutor(ADDRESS, launcher=SleepLauncher(3.0))
    logs = [os.path.join(work_dir, "sleep", f"{k}.log") for k in range(6)]
    os.makedirs(os.path.dirname(logs[0]), exist_ok=True)
    start = time.time()
    for k, log in enumerate(logs):
        executor.submit(WorkUnit((RunWork(f"s{k}", log, TrainJob(f"m{k}", (), ()), None),)), 1.0, None)
    while executor.busy():
        executor.wait_any()
    elapsed = time.time() - start
    executor.close()
    spans = [tuple(map(float, open(log).read().split())) for log in logs]
    at_once = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    first_start, last_end = min(s for s, _ in spans), max(e for _, e in spans)
    return {"elapsed": elapsed, "at_once": at_once, "units": len(spans), "seconds_each": 3.0,
            "rounds": (last_end - first_start) / 3.0}


def _study(work_dir: str, executor: str):
    from rpu_tf.studies import Method, Study

    tiny = ("sprites.image_size = 32", "sprites.num_scales = 2", "sprites.num_orientations = 2",
            "sprites.num_positions_x = 8", "sprites.num_positions_y = 8", "encoder.num_latent = 4",
            "model.batch_size = 32", "model.eval_steps = 1", "model.checkpoint_every = 50",
            "training.progress = False")

    def single(name, beta, train_group=None):
        return Method(name, configs=("quickstart_single_model.gin",), bindings=(f"beta_tc_vae.beta = {beta}",) + tiny,
                      seed_binding="model.random_seed = {seed}", budget_binding="model.training_steps = {units}",
                      budget_unit_images=32, group="beta-TCVAE", train_group=train_group)

    metric = os.path.join(work_dir, "mig.gin")
    with open(metric, "w") as f:
        f.write('evaluation.evaluation_fn = @mig\ndataset.name = "auto"\nevaluation.random_seed = 0\n'
                "mig.num_train = 200\ndiscretizer.discretizer_fn = @histogram_discretizer\ndiscretizer.num_bins = 20\n")
    methods = (single("b1", 1.0, "sweep"), single("b4", 4.0, "sweep"), single("b6", 6.0), single("b8", 8.0))
    return Study("tiny", (0,), methods, (metric,), budget_images=32 * 200, base_dir=os.path.join(ROOT, "gin_configs"),
                 executor=executor, ray_address=ADDRESS)


def _killer(study_dir: str) -> dict:
    """Waits until all three first units started (B holds two of them), then kills worker B."""
    logs = os.path.join(study_dir, "logs")
    deadline = time.time() + 120
    while time.time() < deadline:
        started = [n for n in os.listdir(logs)] if os.path.isdir(logs) else []
        if len(started) >= 3:
            break
        time.sleep(0.2)
    time.sleep(4.0)  # into their training
    return {"killed_processes": _kill_tree(f"--node_manager_port={NODE_B_PORT}")}


def _mig(study_dir: str) -> dict:
    from rpu_tf.layout import paths

    out = {}
    for method in ("b1", "b4", "b6", "b8"):
        run_dir = os.path.join(study_dir, "runs", method, "seed0")
        path = paths.step_aggregate_json(paths.results_dir(paths.metric_dir(run_dir, "mean", "mig")), "evaluation")
        with open(path) as f:
            out[method] = json.load(f)["evaluation_results.discrete_mig"]
    return out


def main(work_dir: str) -> dict:
    import threading

    from rpu_tf.studies import in_process_launcher, run_study

    _ray_start("--head", f"--port={HEAD_PORT}", "--num-cpus=0", f"--temp-dir={os.environ['RAY_TMPDIR']}",
               "--include-dashboard=false")
    _ray_start(f"--address={ADDRESS}", "--num-cpus=1")
    _ray_start(f"--address={ADDRESS}", "--num-cpus=2", f"--node-manager-port={NODE_B_PORT}")
    result = {}
    try:
        result["scheduling"] = _scheduling(work_dir)
        study_dir = os.path.join(work_dir, "ray_study")
        killed = {}
        thread = threading.Thread(target=lambda: killed.update(_killer(study_dir)))
        thread.start()
        first = run_study(_study(work_dir, "ray"), study_dir)
        thread.join()
        result["killed"] = killed
        result["first"] = {k: v.get("state") for k, v in first.entries.items()}
        again = run_study(_study(work_dir, "ray"), study_dir)
        result["again"] = {k: v.get("state") for k, v in again.entries.items()}
        result["ray_mig"] = _mig(study_dir)
    finally:
        _kill_tree(os.environ["RAY_TMPDIR"])  # this cluster only: others on the machine keep running
    local_dir = os.path.join(work_dir, "local_study")
    local = run_study(_study(work_dir, "local"), local_dir, launcher=in_process_launcher)
    result["local"] = {k: v.get("state") for k, v in local.entries.items()}
    result["local_mig"] = _mig(local_dir)
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
