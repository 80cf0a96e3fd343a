"""Training throughput: one beta-TCVAE and a K-model group (K sub-graphs, or batched), float32
vs auto precision, against PyTorch (fp32 eager, bf16 autocast) and the machine's measured peak.

Prints images/s, achieved GFLOP/s, the ratio to the practical peak of the precision the case
computes in, and peak memory (RSS of the measuring process, runtime included) for:

- ``single``: one ``beta_tc_vae`` (conv_encoder/deconv_decoder, ``--image_size`` 64 or 32,
  one channel, batch 64), trained
  by :class:`rpu_tf.training.ReplicaGroup` with ``K = 1`` (what ``rpu_train`` runs), in
  float32 and in ``training.precision = "auto"`` (:mod:`rpu_tf.training.precision`);
- ``group``: ``K`` replicas (default 5) in one compiled step as K sub-graphs
  (``training.model_batching = "replicas"``), both precisions; images/s summed over the
  replicas;
- ``batched``: the same group with each layer run once for all K models
  (``training.model_batching = "batched"``, :mod:`rpu_tf.models.batched`), both precisions;
- ``torch`` / ``torch_bf16``: the same architecture, loss (Bernoulli + KL + (beta-1)·TC
  minibatch estimator) and Adam in eager PyTorch, fp32 and under ``torch.autocast("cpu",
  torch.bfloat16)``, when ``torch`` is importable;
- ``peak``: a large matmul (``--peak_size``) in float32 and bfloat16 with the thread pools
  of the single model: the practical peak that ratios are taken against.

FLOPs per image come from the model's layers (:mod:`rpu_tf.models.flops`: 3x the forward
multiply-adds of every conv/dense layer), not from a constant. Every case runs in its own
subprocess (its own peak RSS; thread settings applied before the runtime starts), rounds are
interleaved (``--rounds``) and the median over all measurements is reported. Training data
comes from an in-memory bank of pre-rendered sprites (the input pipeline is not measured;
rpu_tf still prefetches it in a background thread as in training).

Usage: python benchmarks/train_throughput.py [--steps 30] [--rounds 3] [--batch_size 64]
       [--intra_op_threads N] [--inter_op_threads N] [--torch_threads N] [--jit_compile]
       [--no_gradient_check] [--image_size 64] [--num_replicas 5]
       [--cases single,single_auto,group,group_auto,batched,batched_auto,...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

from machine import cpu_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BANK_SIZE = 4096
NUM_LATENT = 10
BETA = 6.0


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _bank(image_size: int = 64, seed: int = 0) -> np.ndarray:
    """``BANK_SIZE`` rendered sprites, float32 (n, image_size, image_size, 1)."""
    from rpu_tf.data.sprites import Sprites

    return Sprites(image_size=image_size).sample_observations(BANK_SIZE, np.random.RandomState(seed))


# ---------------------------------------------------------------------------------------
# Workers (one per subprocess).
# ---------------------------------------------------------------------------------------

def _worker_tf(args, num_replicas: int, precision: str, model_batching: str) -> dict:
    import tensorflow as tf

    from rpu_tf.data.ground_truth_data import GroundTruthData
    from rpu_tf.models import make_model
    from rpu_tf.models.flops import training_flops_per_image
    from rpu_tf.training.replica_group import ReplicaGroup
    from rpu_tf.training.runtime import configure_threads_for

    configure_threads_for(num_replicas, args.intra_op_threads, args.inter_op_threads)
    bank = _bank(args.image_size)

    class Bank(GroundTruthData):
        observation_shape = [args.image_size, args.image_size, 1]

        def sample_observations(self, num, random_state):
            return bank[random_state.randint(BANK_SIZE, size=num)]

    model = make_model("beta_tc_vae", beta=BETA, num_latent=NUM_LATENT, encoder_fn="conv_encoder",
                       decoder_fn="deconv_decoder", reconstruction_loss={"loss_fn": "bernoulli_loss"})
    group = ReplicaGroup(model, Bank(), num_replicas=num_replicas, batch_size=args.batch_size,
                         random_seed=0, jit_compile=args.jit_compile,
                         check_gradients=not args.no_gradient_check, precision=precision,
                         model_batching=model_batching)
    start = time.perf_counter()
    group.train(1)
    first_step = time.perf_counter() - start
    group.train(max(0, args.warmup - 1))
    rates = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        group.train(args.steps)
        rates.append(num_replicas * args.batch_size * args.steps / (time.perf_counter() - start))
    return {"images_per_second": rates, "peak_rss_mib": _peak_rss_mib(),
            "threads": f"intra={tf.config.threading.get_intra_op_parallelism_threads() or 'auto'} "
                       f"inter={tf.config.threading.get_inter_op_parallelism_threads() or 'auto'}",
            "tracing_count": group.tracing_count(), "precision": group.precision,
            "batched": group.batched, "first_step_seconds": first_step,
            "flops_per_image": training_flops_per_image(group.model(0))}


def _worker_peak(args) -> dict:
    """Best-of GFLOP/s of an n x n matmul in float32 and bfloat16 (single-model threads)."""
    import tensorflow as tf

    from rpu_tf.training.runtime import configure_threads_for

    configure_threads_for(1, args.intra_op_threads, args.inter_op_threads)
    n = args.peak_size
    out = {}
    for name, dtype in (("float32", tf.float32), ("bfloat16", tf.bfloat16)):
        a = tf.random.normal((n, n), dtype=tf.float32)
        a, b = tf.cast(a, dtype), tf.cast(tf.transpose(a), dtype)
        matmul = tf.function(lambda x, y: tf.reduce_sum(tf.cast(tf.matmul(x, y)[:1, :1], tf.float32)))
        matmul(a, b).numpy()
        best = 0.0
        for _ in range(args.peak_repeats):
            start = time.perf_counter()
            matmul(a, b).numpy()
            best = max(best, 2.0 * n ** 3 / (time.perf_counter() - start) / 1e9)
        out[name] = best
    return {"gflops": out, "images_per_second": [0.0], "peak_rss_mib": _peak_rss_mib(),
            "threads": f"intra={tf.config.threading.get_intra_op_parallelism_threads()} "
                       f"inter={tf.config.threading.get_inter_op_parallelism_threads()}"}


def _worker_torch(args, bf16: bool = False) -> dict:
    import contextlib

    import torch
    from torch import nn

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    torch.manual_seed(0)
    bank = torch.from_numpy(np.ascontiguousarray(_bank(args.image_size).transpose(0, 3, 1, 2)))
    side = args.image_size // 16

    class Unflatten(nn.Module):
        def forward(self, x):
            return x.view(-1, 64, side, side)

    # TF "same" padding equals symmetric padding 1 for 4x4/2 and 0 for 2x2/2 here.
    encoder = nn.Sequential(
        nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 32, 4, 2, 1), nn.ReLU(),
        nn.Conv2d(32, 64, 2, 2, 0), nn.ReLU(), nn.Conv2d(64, 64, 2, 2, 0), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * side * side, 256), nn.ReLU(), nn.Linear(256, 2 * NUM_LATENT))
    decoder = nn.Sequential(
        nn.Linear(NUM_LATENT, 256), nn.ReLU(), nn.Linear(256, 64 * side * side), nn.ReLU(), Unflatten(),
        nn.ConvTranspose2d(64, 64, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(64, 32, 4, 2, 1),
        nn.ReLU(), nn.ConvTranspose2d(32, 32, 4, 2, 1), nn.ReLU(),
        nn.ConvTranspose2d(32, 1, 4, 2, 1))
    params = list(encoder.parameters()) + list(decoder.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
    log_2pi = math.log(2 * math.pi)

    def gaussian_log_density(x, mean, logvar):
        return -0.5 * ((x - mean) ** 2 * torch.exp(-logvar) + logvar + log_2pi)

    generator = torch.Generator().manual_seed(0)

    def autocast():
        if bf16:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def step():
        x = bank[torch.randint(BANK_SIZE, (args.batch_size,), generator=generator)]
        with autocast():
            h = encoder(x)
        mean, logvar = h[:, :NUM_LATENT].float(), h[:, NUM_LATENT:].float()
        z = mean + torch.exp(logvar / 2) * torch.randn_like(mean)
        with autocast():
            logits = decoder(z)
        logits = logits.float()
        rec = nn.functional.binary_cross_entropy_with_logits(
            logits, x, reduction="none").flatten(1).sum(1).mean()
        kl = (0.5 * (mean ** 2 + logvar.exp() - logvar - 1).sum(1)).mean()
        log_q = gaussian_log_density(z[:, None], mean[None], logvar[None])
        tc = (torch.logsumexp(log_q.sum(2), 1) - torch.logsumexp(log_q, 1).sum(1)).mean()
        loss = rec + kl + (BETA - 1) * tc
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    for _ in range(args.warmup):
        step()
    rates = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        rates.append(args.batch_size * args.steps / (time.perf_counter() - start))
    return {"images_per_second": rates, "peak_rss_mib": _peak_rss_mib(),
            "threads": f"intra={torch.get_num_threads()} inter={torch.get_num_interop_threads()}",
            "version": torch.__version__, "precision": "bf16 autocast" if bf16 else "float32"}


# ---------------------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------------------

def _torch_available() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def _run_worker(case: str, args) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", case]
    for name in ("steps", "warmup", "repeats", "batch_size", "num_replicas", "image_size",
                 "intra_op_threads", "inter_op_threads", "torch_threads", "peak_size", "peak_repeats"):
        value = getattr(args, name)
        if value is not None:
            cmd += [f"--{name}", str(value)]
    for name in ("jit_compile", "no_gradient_check"):
        if getattr(args, name):
            cmd.append(f"--{name}")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


CASES = {
    # name: (label, replicas, precision, model batching)
    "single": ("rpu_tf 1 model, float32", 1, "float32", "replicas"),
    "single_auto": ("rpu_tf 1 model, auto", 1, "auto", "replicas"),
    "group": ("rpu_tf {k} sub-graphs, float32", None, "float32", "replicas"),
    "group_auto": ("rpu_tf {k} sub-graphs, auto", None, "auto", "replicas"),
    "batched": ("rpu_tf {k} batched, float32", None, "float32", "batched"),
    "batched_auto": ("rpu_tf {k} batched, auto", None, "auto", "batched"),
    "torch": ("PyTorch 1 model, fp32 eager", 1, "float32", None),
    "torch_bf16": ("PyTorch 1 model, bf16 autocast", 1, "bfloat16", None),
}


def _flops_per_image(results) -> float:
    for runs in results.values():
        for run in runs:
            if "flops_per_image" in run:
                return float(run["flops_per_image"])
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="steps per measurement")
    parser.add_argument("--warmup", type=int, default=5, help="steps before measuring (tracing)")
    parser.add_argument("--repeats", type=int, default=2, help="measurements per round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of all cases")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--num_replicas", type=int, default=5)
    parser.add_argument("--image_size", type=int, default=64, help="64 (disentanglement_lib) or 32")
    parser.add_argument("--intra_op_threads", type=int, default=None,
                        help="threads per op (default: rpu_tf's auto_threads per case)")
    parser.add_argument("--inter_op_threads", type=int, default=None,
                        help="concurrent ops (default: rpu_tf's auto_threads per case)")
    parser.add_argument("--torch_threads", type=int, default=None,
                        help="PyTorch intra-op threads (default: PyTorch's, all cores)")
    parser.add_argument("--jit_compile", action="store_true", help="XLA-compile the TF steps")
    parser.add_argument("--no_gradient_check", action="store_true",
                        help="skip the finite-gradient check of each step")
    parser.add_argument("--peak_size", type=int, default=2048, help="matmul size of the peak case")
    parser.add_argument("--peak_repeats", type=int, default=5)
    parser.add_argument("--cases", default="single,single_auto,group,group_auto,batched,batched_auto,"
                                           "torch,torch_bf16")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        if args.worker == "peak":
            result = _worker_peak(args)
        elif args.worker.startswith("torch"):
            result = _worker_torch(args, bf16=args.worker == "torch_bf16")
        else:
            _, replicas, precision, model_batching = CASES[args.worker]
            result = _worker_tf(args, replicas or args.num_replicas, precision, model_batching)
        print(json.dumps(result))
        return

    cases = [c for c in args.cases.split(",") if c]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"unknown cases {unknown}; known: {', '.join(CASES)}")
    if any(c.startswith("torch") for c in cases) and not _torch_available():
        print("torch is not installed: skipping the PyTorch comparison.")
        cases = [c for c in cases if not c.startswith("torch")]
    results: dict[str, list[dict]] = {c: [] for c in cases}
    load_before = os.getloadavg()
    peak = _run_worker("peak", args)
    for _ in range(args.rounds):
        for case in cases:
            results[case].append(_run_worker(case, args))
    load_after = os.getloadavg()

    from rpu_tf.training.precision import auto_precision

    median = {c: statistics.median([r for res in results[c] for r in res["images_per_second"]])
              for c in cases}
    flops = _flops_per_image(results)
    peaks = peak["gflops"]
    cpu = cpu_name()
    print(f"beta_tc_vae conv {args.image_size}x{args.image_size}x1, batch {args.batch_size}, K {args.num_replicas}, "
          f"{args.steps} steps x "
          f"{args.repeats} repeats x {args.rounds} rounds; XLA {'on' if args.jit_compile else 'off'}, "
          f"Keras Adam; {cpu}, cpus {os.cpu_count()}; "
          f"load average {load_before[0]:.2f} -> {load_after[0]:.2f}")
    print("auto precision here: %s (%s)" % auto_precision())
    print(f"training FLOPs per image (3x forward, from the layers): {flops / 1e6:.1f} M")
    print(f"practical peak ({args.peak_size}^3 matmul, {peak['threads']}): "
          f"float32 {peaks['float32']:.0f} GFLOP/s, bfloat16 {peaks['bfloat16']:.0f} GFLOP/s")
    print(f"{'case':<40} {'images/s':>9} {'min..max':>13} {'GFLOP/s':>8} {'of peak':>8} "
          f"{'RSS MiB':>8} {'1st step s':>10}  threads")
    for case in cases:
        rates = [r for res in results[case] for r in res["images_per_second"]]
        rss = max(res["peak_rss_mib"] for res in results[case])
        label = CASES[case][0]
        first = statistics.median(res.get("first_step_seconds", float("nan")) for res in results[case])
        computed = results[case][0].get("precision", "float32")
        peak_of = peaks["bfloat16"] if "bfloat16" in computed or "bf16" in computed else peaks["float32"]
        gflops = median[case] * flops / 1e9
        print(f"{label.format(k=args.num_replicas) + ' [' + computed + ']':<40} {median[case]:>9.0f} "
              f"{min(rates):>6.0f}..{max(rates):<6.0f} {gflops:>8.1f} {gflops / peak_of:>8.2f} "
              f"{rss:>8.0f} {first:>10.1f}  {results[case][0]['threads']}")

    def ratio(a, b, what):
        if a in median and b in median:
            print(f"{what}: {median[a] / median[b]:.2f}x")

    ratio("single_auto", "single", "single auto / float32")
    ratio("group_auto", "group", "group auto / float32")
    ratio("single_auto", "torch", "single auto / PyTorch fp32")
    ratio("single", "torch", "single float32 / PyTorch fp32")
    ratio("single_auto", "torch_bf16", "single auto / PyTorch bf16")
    ratio("group", "single", "group / single (float32)")
    ratio("batched", "group", "batched / sub-graphs (float32)")
    ratio("batched_auto", "group_auto", "batched / sub-graphs (auto)")
    ratio("batched_auto", "batched", "batched auto / float32")


if __name__ == "__main__":
    main()
