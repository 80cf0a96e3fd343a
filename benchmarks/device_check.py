"""Device check: training images/s of the beta-TCVAE on whatever accelerator (or CPU) is here.

Prints one table: the replica group (``ReplicaGroup``) computed as K independent sub-graphs
in one step (``training.model_batching = "replicas"``) at K = 1 (the single model), 5, 10
and 20, and batched (each layer once for all K models, ``"batched"``,
:mod:`rpu_tf.models.batched`) at K = 5, 10 and 20, in float32 and in 16-bit precision
(bfloat16, and float16 on GPUs), XLA off and on. ``"auto"`` picks the batched layout on
GPUs: this check is where that choice is measured. Each row is one
subprocess (thread pools and XLA settings apply before the runtime starts) run under a
shared time budget: rows that no longer fit are printed as skipped, so the whole check ends
within ``--budget_s`` seconds on any machine. Run by ``benchmarks/device_check.sh``.

Usage: python benchmarks/device_check.py [--budget_s 270] [--steps N] [--batch_size 64]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPLICAS = (1, 5, 10, 20)


def _worker(layout: str, k: int, precision: str, jit: bool, steps: int, batch_size: int) -> dict:
    import tensorflow as tf

    from rpu_tf.training.runtime import configure_threads_for

    threads = configure_threads_for(k)
    from rpu_tf.data.ground_truth_data import GroundTruthData
    from rpu_tf.models import make_model
    from rpu_tf.training import ReplicaGroup

    bank = (np.random.RandomState(0).uniform(size=(512, 64, 64, 1)) > 0.8).astype(np.float32)

    class Bank(GroundTruthData):
        observation_shape = [64, 64, 1]

        def sample_observations(self, num, random_state):
            return bank[random_state.randint(len(bank), size=num)]

    model = make_model("beta_tc_vae", beta=6.0, num_latent=10, encoder_fn="conv_encoder",
                       decoder_fn="deconv_decoder", reconstruction_loss={"loss_fn": "bernoulli_loss"})
    group = ReplicaGroup(model, Bank(), num_replicas=k, batch_size=batch_size, jit_compile=jit,
                         precision=precision, model_batching="batched" if layout == "batched" else "replicas")

    def step():
        group.train(1)

    start = time.perf_counter()
    step()
    step()
    warm = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(steps):
        step()
    rate = k * batch_size * steps / (time.perf_counter() - start)
    gpus = tf.config.list_physical_devices("GPU")
    return {"images_per_second": rate, "warmup_s": warm, "threads": f"{threads[0]}/{threads[1]}",
            "device": "GPU" if gpus else "CPU"}


def _rows(on_gpu: bool) -> list[tuple[str, int, str, bool]]:
    from rpu_tf.training.precision import auto_precision

    sixteen = ["mixed_bfloat16"] + (["mixed_float16"] if on_gpu else [])
    if not on_gpu and auto_precision()[0] == "float32":
        sixteen = ["mixed_bfloat16"]  # measured anyway, to show what bf16 costs without hardware support
    # Sub-graphs and batched side by side at each K, so a short budget still compares them.
    rows = [(layout, k, p, False) for p in ["float32"] + sixteen for k in REPLICAS
            for layout in (("subgraphs", "batched") if k > 1 else ("subgraphs",))]
    rows += [("subgraphs", k, p, True) for p in ["float32"] + sixteen for k in (1, 5)]
    rows += [("batched", k, p, True) for p in ["float32", sixteen[0]] for k in (5, 20)]
    rows += [("subgraphs", k, p, True) for p in ["float32"] + sixteen for k in (10, 20)]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget_s", type=float, default=270.0)
    parser.add_argument("--steps", type=int, default=None, help="measured steps (default: 20 GPU, 3 CPU)")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        layout, k, precision, jit, steps = json.loads(args.worker)
        print(json.dumps(_worker(layout, k, precision, jit, steps, args.batch_size)))
        return

    deadline = time.time() + args.budget_s
    import tensorflow as tf

    from rpu_tf.training.precision import auto_precision, cpu_flags, gpu_compute_capabilities

    gpus = tf.config.list_physical_devices("GPU")
    on_gpu = bool(gpus)
    steps = args.steps or (20 if on_gpu else 3)
    print(f"device check: {len(gpus)} GPU(s) {gpu_compute_capabilities() if gpus else ''}; "
          f"{os.cpu_count()} CPUs; bf16 CPU flags: "
          f"{sorted(f for f in cpu_flags() if 'bf16' in f or 'amx' in f) or 'none'}; "
          f"auto precision: {auto_precision()[0]} ({auto_precision()[1]}); TF {tf.__version__}; "
          f"batch {args.batch_size} per replica, {steps} measured steps", flush=True)
    print(f"{'layout':<10} {'K':>3} {'precision':<15} {'XLA':<4} {'images/s':>9} {'warmup s':>9}  threads",
          flush=True)
    for layout, k, precision, jit in _rows(on_gpu):
        left = deadline - time.time()
        label = f"{layout:<10} {k:>3} {precision:<15} {'on' if jit else 'off':<4}"
        if left < 15:
            print(f"{label} {'skipped (time budget)':>20}", flush=True)
            continue
        cmd = [sys.executable, os.path.abspath(__file__), "--batch_size", str(args.batch_size),
               "--worker", json.dumps([layout, k, precision, jit, steps])]
        try:
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=left)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{label} {result['images_per_second']:>9.0f} {result['warmup_s']:>9.1f}  "
                  f"{result['threads']} {result['device']}", flush=True)
        except subprocess.TimeoutExpired:
            print(f"{label} {'skipped (time budget)':>20}", flush=True)
        except subprocess.CalledProcessError as error:
            last = (error.stderr or "").strip().splitlines()[-1:] or ["?"]
            print(f"{label} {'failed':>9}  {last[0][:120]}", flush=True)


if __name__ == "__main__":
    main()
