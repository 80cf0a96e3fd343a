"""Images/s of a sweep trained together: K single models as one replica group against one model.

What ``rpu_train_together`` / ``study_method.train_group`` buy: the quickstart's β-TCVAE
(conv, 10 latents) on the quickstart's 32x32 sprites, batch 64, in the auto precision, with
the thread pools rpu_tf picks for K replicas. Each K runs in its own process (thread pools
are fixed per process); rounds interleave the cases; images/s count all replicas.

Usage: python benchmarks/sweep_throughput.py [--sizes 1,3,6] [--steps 150] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(num_replicas: int, steps: int) -> float:
    """Images/s of one K-replica group (in this process)."""
    sys.path.insert(0, ROOT)
    from rpu_tf.data.sprites import Sprites
    from rpu_tf.models.vae import BetaTCVAE
    from rpu_tf.training import runtime
    from rpu_tf.training.replica_group import ReplicaGroup

    runtime.configure_threads_for(num_replicas)
    data = Sprites(image_size=32, num_orientations=10, num_positions_x=8, num_positions_y=8)
    model = BetaTCVAE(reconstruction_loss={"loss_fn": "bernoulli_loss"}, num_latent=10, encoder_fn="conv_encoder",
                      decoder_fn="deconv_decoder", beta=6.0)
    group = ReplicaGroup(model, data, num_replicas=num_replicas, batch_size=64, random_seed=0, precision="auto")
    group.train(20)  # tracing and warm-up
    return group.train(steps)["images_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,3,6", help="replica counts K, comma-separated")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # child process: one K
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps({"images_per_second": measure(args.one, args.steps)}))
        return
    sizes = [int(k) for k in args.sizes.split(",")]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    results: dict[int, list[float]] = {k: [] for k in sizes}
    for _ in range(args.rounds):
        for k in sizes:
            out = subprocess.run([sys.executable, __file__, f"--one={k}", f"--steps={args.steps}"], env=env,
                                 capture_output=True, text=True, check=True).stdout
            results[k].append(json.loads(out.strip().splitlines()[-1])["images_per_second"])
    single = statistics.median(results[sizes[0]])
    print(f"{'K':>3} {'images/s (median)':>18} {'all rounds':>24} {'vs K=' + str(sizes[0]):>8}")
    for k in sizes:
        median = statistics.median(results[k])
        rounds = ", ".join(f"{v:.0f}" for v in results[k])
        print(f"{k:>3} {median:>18.0f} {rounds:>24} {median / single:>7.2f}x")


if __name__ == "__main__":
    main()
