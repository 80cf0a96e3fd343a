"""Images/s of a small PBT-U-VAE generation with the local executor and with Ray, and the ratio.

The same member steps (``--members`` members of ``--replicas`` β-TCVAEs, the quickstart's conv
model on its 32x32 sprites, batch 64, auto precision, UDR scoring) run twice per case:
generation 1 from fresh seeds (Ray: actors start, import TensorFlow and trace inside it; local:
the one trainable builds and traces) and generation 2 from generation 1's states (the steady
state of a long run: states travel through Ray's object store both ways). Local: one process,
thread pools for the whole machine. Ray: ``--actors`` actors holding ``cpus / actors`` CPUs
each, their thread pools sized to that (``ray_executor.num_cpus_per_member``). Images count
every replica's training images; scoring and state transfer are inside the wall time.

Each case runs in its own process, cases interleave (A B A B); Ray runs in a loopback-only
network namespace when ``unshare --net`` is available (root), with usage stats off.

Usage: python benchmarks/ray_overhead.py [--members 4] [--replicas 5] [--images 2560]
       [--actors 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH = 64


def _factory(num_replicas: int):
    sys.path.insert(0, ROOT)
    from rpu_tf.data.sprites import Sprites
    from rpu_tf.models.vae import BetaTCVAE
    from rpu_tf.rpu.scoring import UDRScore
    from rpu_tf.rpu.vae_member import VAEMemberFactory

    data = Sprites(image_size=32, num_orientations=10, num_positions_x=8, num_positions_y=8)
    model = BetaTCVAE(reconstruction_loss={"loss_fn": "bernoulli_loss"}, num_latent=10, encoder_fn="conv_encoder",
                      decoder_fn="deconv_decoder", beta=6.0)
    return VAEMemberFactory(model, data, UDRScore(), num_replicas, precision="auto")


def measure(kind: str, members: int, replicas: int, images: int, actors: int) -> dict:
    """Wall seconds and images/s of two generations with executor ``kind`` (in this process)."""
    from rpu_tf.pbt.executors import LocalExecutor
    from rpu_tf.pbt.trainable import MemberTask

    cpus = os.cpu_count() or 1
    factory = _factory(replicas)
    if kind == "local":
        from rpu_tf.training import runtime

        runtime.configure_threads_for(replicas)
        executor = LocalExecutor(factory)
    else:
        from rpu_tf.pbt.ray_executor import RayExecutor

        executor = RayExecutor(factory, num_cpus_per_member=max(1, cpus // actors), max_concurrent_members=actors,
                               init_kwargs={"num_cpus": cpus, "_temp_dir": os.environ.get("RAY_TMPDIR")})
    steps = max(1, images // BATCH)
    hyperparameters = {"learning_rate": 5e-4, "beta": 6.0, "batch_size": BATCH}
    states: dict = {}
    out = {}
    try:
        for generation in (1, 2):
            tasks = [MemberTask(member_id=m, generation=generation, hyperparameters=dict(hyperparameters),
                                num_steps=steps, seed=100 * generation + m,
                                init_seed=m if generation == 1 else None) for m in range(members)]
            start = time.perf_counter()
            for result in executor.run(tasks, lambda t: states.get(t.member_id)):
                states[result.member_id] = result.state
            wall = time.perf_counter() - start
            out[f"generation_{generation}"] = {"wall_s": wall,
                                               "images_per_second": members * replicas * steps * BATCH / wall}
    finally:
        executor.close()
    return out


def _isolated(command: list[str]) -> list[str]:
    """``command`` inside a loopback-only network namespace when this machine allows one."""
    if shutil.which("unshare") and shutil.which("ip") and \
            subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0:
        return ["unshare", "--net", "bash", "-c", f"ip link set lo up && exec {shlex.join(command)}"]
    print("note: no `unshare --net` here (needs root); Ray runs in the normal network", file=sys.stderr)
    return command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--replicas", type=int, default=5)
    parser.add_argument("--images", type=int, default=2560, help="training images per replica and generation")
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--one", choices=["local", "ray"], default=None, help=argparse.SUPPRESS)  # child process
    args = parser.parse_args()
    sizes = dict(members=args.members, replicas=args.replicas, images=args.images, actors=args.actors)
    if args.one is not None:
        print(json.dumps(measure(args.one, **sizes)))
        return
    results: dict[str, list[dict]] = {"local": [], "ray": []}
    with tempfile.TemporaryDirectory(prefix="ray", dir="/tmp") as ray_tmp:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RAY_USAGE_STATS_ENABLED": "0",
               "RAY_AUTH_MODE": "disabled", "RAY_TMPDIR": ray_tmp, "RAY_DISABLE_DOCKER_CPU_WARNING": "1"}
        for _ in range(args.rounds):
            for kind in ("local", "ray"):
                command = [sys.executable, os.path.abspath(__file__), f"--one={kind}",
                           *(f"--{k}={v}" for k, v in sizes.items())]
                if kind == "ray":
                    command = _isolated(command)
                done = subprocess.run(command, env=env, capture_output=True, text=True)
                if done.returncode != 0:
                    sys.exit(f"the {kind} case failed:\n{done.stderr[-3000:]}")
                results[kind].append(json.loads(done.stdout.strip().splitlines()[-1]))
    cpus = os.cpu_count() or 1
    print(f"{args.members} members x {args.replicas} replicas, {args.images} images per replica and generation, "
          f"batch {BATCH}; {cpus} CPUs; Ray: {args.actors} actors x {max(1, cpus // args.actors)} CPU")
    print(f"{'generation':<34} {'local images/s':>16} {'Ray images/s':>14} {'Ray / local':>12}")
    for generation, label in (("generation_1", "1 (fresh: start-up and tracing)"),
                              ("generation_2", "2 (steady state)")):
        local = [r[generation]["images_per_second"] for r in results["local"]]
        ray = [r[generation]["images_per_second"] for r in results["ray"]]
        pairs = ", ".join(f"{b / a:.2f}" for a, b in zip(local, ray))
        print(f"{label:<34} {statistics.median(local):>16.0f} {statistics.median(ray):>14.0f} "
              f"{statistics.median(ray) / statistics.median(local):>11.2f}x   (pairs: {pairs})")


if __name__ == "__main__":
    main()
