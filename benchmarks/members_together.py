"""Images/s of a PBT generation's members trained one after another against together.

The quickstart's members (beta-TCVAE, conv, 10 latents, 32x32 sprites of the quickstart grid,
batch 64, auto precision): ``--members`` members of ``--replicas`` replicas, each trained
``--steps`` steps, as the local executor trains them with ``local_executor.members_together``
1 (one after another, the paper) and ``--members`` (one joint step,
:mod:`rpu_tf.training.joint_training`). Both run in one process after a traced warm-up;
rounds alternate A B A B. Prints images/s (all members and replicas) and their ratio.

Usage: python benchmarks/members_together.py [--members 2] [--replicas 3] [--steps 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from machine import cpu_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--intra_op_threads", type=int, default=None, help="default: rpu_tf's for the replicas")
    parser.add_argument("--inter_op_threads", type=int, default=None)
    args = parser.parse_args()

    from rpu_tf.data.sprites import Sprites
    from rpu_tf.models.vae import BetaTCVAE
    from rpu_tf.training import runtime
    from rpu_tf.training.joint_training import JointTrainer
    from rpu_tf.training.precision import resolve_precision
    from rpu_tf.training.replica_group import ReplicaGroup

    threads = runtime.configure_threads_for(args.replicas, args.intra_op_threads, args.inter_op_threads)
    data = Sprites(image_size=32, num_orientations=10, num_positions_x=8, num_positions_y=8)
    model = BetaTCVAE(beta=6.0, num_latent=10, encoder_fn="conv_encoder", decoder_fn="deconv_decoder",
                      reconstruction_loss={"loss_fn": "bernoulli_loss"})
    precision = resolve_precision(args.precision)
    groups = [ReplicaGroup(model, data, num_replicas=args.replicas, batch_size=64, random_seed=m,
                           precision=precision) for m in range(args.members)]
    joint = JointTrainer(groups)
    images = args.members * args.replicas * 64 * args.steps

    def one_after_another(steps):
        for m, group in enumerate(groups):
            group.train(steps, seed=m)

    def together(steps):
        joint.train(steps, list(range(args.members)))

    one_after_another(2)  # trace both
    together(2)
    rates: dict[str, list[float]] = {"one after another": [], "together": []}
    for _ in range(args.rounds):
        for name, fn in (("one after another", one_after_another), ("together", together)):
            start = time.perf_counter()
            fn(args.steps)
            rates[name].append(images / (time.perf_counter() - start))
    cpu = cpu_name()
    print(f"{args.members} members x {args.replicas} replicas, 32x32 sprites, batch 64, {precision}, "
          f"{args.steps} steps per member; threads intra {threads[0]} inter {threads[1]}; {cpu}, "
          f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}")
    for name, values in rates.items():
        print(f"{name:<18} {statistics.median(values):>8.0f} images/s  ({min(values):.0f}..{max(values):.0f})")
    print(f"together / one after another: "
          f"{statistics.median(rates['together']) / statistics.median(rates['one after another']):.2f}x")


if __name__ == "__main__":
    main()
