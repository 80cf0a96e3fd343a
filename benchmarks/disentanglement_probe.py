"""Disentanglement probe: how fast a replica group learns the sprites' factors.

Trains K replicas of one model (one hyperparameter setting, one seed) on the built-in sprites
and prints, at each checkpoint, a JSON line: the step, wall seconds, the mean reconstruction
loss, every replica's UDR score (Lasso, the paper's settings), and per replica its MIG and
its six strongest latents as ``z<j>:kl<KL>:<factor><nMI>`` (0-based latent, per-latent KL in
nats, the factor it shares most information with, normalised mutual information
MI / H(factor) with 20-bin codes, as MIG normalises). This is how the initial metaEpoch's
settings are chosen (issue: the recursion must see clean x/y latents).

Usage: python benchmarks/disentanglement_probe.py [--model beta_tc_vae] [--lr 5e-4]
       [--beta 6] [--batch 64] [--k 2] [--steps 1000,2500,5000] [--seed 0] [--image_size 32]
       [--precision auto] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHORT = {"shape": "sh", "scale": "sc", "orientation": "or", "position_x": "x", "position_y": "y"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="beta_tc_vae")
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--beta", type=float, default=6.0)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--k", type=int, default=2, help="replicas (>= 2 for UDR)")
    parser.add_argument("--steps", default="1000,2500,5000", help="checkpoints (cumulative steps)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image_size", type=int, default=64)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--points", type=int, default=6000, help="images scored per checkpoint")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    from rpu_tf.training.runtime import RuntimeOptions, configure

    configure(args.k, RuntimeOptions(precision=args.precision))
    from rpu_tf.data import Sprites
    from rpu_tf.metrics import utils
    from rpu_tf.metrics.mig import mig_from_information
    from rpu_tf.models import make_model
    from rpu_tf.rpu.scoring import UDRScore
    from rpu_tf.training import ReplicaGroup
    from rpu_tf.training.representation import encode_data_set, gaussian_kl_per_latent

    data = Sprites(num_orientations=10, num_positions_x=16, num_positions_y=16, image_size=args.image_size)
    model = make_model(args.model, beta=args.beta, num_latent=10, encoder_fn="conv_encoder",
                       decoder_fn="deconv_decoder", reconstruction_loss={"loss_fn": "bernoulli_loss"})
    group = ReplicaGroup(model, data, num_replicas=args.k, batch_size=args.batch, random_seed=args.seed)
    group.set_hyperparameters(learning_rate=args.lr)
    indices = np.random.RandomState(123).choice(data.num_observations, args.points, replace=False)
    factors = data.index_to_factors(indices).T
    entropy = np.array([utils.discrete_entropy(f[None])[0] for f in factors])
    done, start, rows = 0, time.time(), []
    for target in [int(s) for s in args.steps.split(",")]:
        metrics = group.train(target - done)
        done = target
        _, details = UDRScore()(group, seed=0)
        row = {"step": done, "t": round(time.time() - start), "rec": round(metrics["reconstruction_loss"], 1),
               "udr": [round(u, 3) for u in details["replica_scores"]], "replicas": []}
        for r in range(args.k):
            means, logvars = encode_data_set(group.model(r), data, indices)
            kl = gaussian_kl_per_latent(means, logvars)
            mutual_info = utils.discrete_mutual_info(utils.histogram_discretize(means.T, num_bins=20), factors)
            nmi = mutual_info / entropy
            latents = []
            for j in np.argsort(-kl)[:6]:
                best = int(np.argmax(nmi[j]))
                latents.append(f"z{j}:kl{kl[j]:.2f}:{SHORT.get(data.factor_names[best], best)}{nmi[j, best]:.2f}")
            mig = mig_from_information(mutual_info, entropy)[0]
            row["replicas"].append({"mig": round(float(mig), 3), "latents": latents})
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f)


if __name__ == "__main__":
    main()
