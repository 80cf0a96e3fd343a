"""Two ways to train K replicas in one step: separate sub-graphs vs stacked weights.

- ``subgraphs``: what :class:`rpu_tf.training.ReplicaGroup` does: K Keras models in one
  ``tf.function``; TensorFlow runs the K independent sub-graphs concurrently.
- ``stacked``: the K replicas' weights stacked into single variables; convolutions become
  grouped convolutions over ``K * channels`` (``tf.nn.conv2d`` / ``conv2d_transpose`` with
  per-group filters), dense layers batched matmuls; one op per layer for all replicas.

Same beta-TCVAE (conv 64x64x1, batch 64 per replica), loss and Adam; random binary images.
Each layout runs in its own subprocess with ``auto_threads(K)``; prints images/s summed over
replicas (median of ``--rounds`` interleaved rounds). This is how the ReplicaGroup layout
was chosen.

Usage: python benchmarks/replica_layouts.py [--num_replicas 5] [--steps 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

B, L, BETA = 64, 10, 6.0


def _stacked_step(k: int, dtype: str = "float32", jit_compile: bool = False, batch_size: int = B):
    """One stacked-layout train step for ``k`` replicas; ``dtype`` is the compute dtype of the
    convolutions and matmuls ("float32", "bfloat16", "float16"; variables and losses stay
    float32, no loss scaling: a throughput measurement only); ``batch_size`` images per replica."""
    import keras
    import tensorflow as tf

    n = int(batch_size)
    cd = tf.as_dtype(dtype)

    def c(t):
        return tf.cast(t, cd)

    init = keras.initializers.GlorotUniform(0)
    enc = [(4, 1, 32), (4, 32, 32), (2, 32, 64), (2, 64, 64)]  # (size, cin, cout) per replica
    dec = [(64, 64), (64, 32), (32, 32), (32, 1)]  # transposed: (cin, cout)
    variables = []

    def var(shape):
        v = tf.Variable(init(shape))
        variables.append(v)
        return v

    def zeros(shape):
        v = tf.Variable(tf.zeros(shape))
        variables.append(v)
        return v

    enc_w = [var((s, s, ci, k * co)) for s, ci, co in enc]  # grouped conv filters
    enc_b = [zeros((k * co,)) for _, _, co in enc]
    dense = {name: (var((k, i, o)), zeros((k, 1, o))) for name, i, o in
             [("e5", 1024, 256), ("heads", 256, 2 * L), ("d1", L, 256), ("d2", 256, 1024)]}
    dec_w = [var((4, 4, co, k * ci)) for ci, co in dec]  # grouped transposed conv filters
    dec_b = [zeros((k * co,)) for _, co in dec]
    optimizer = keras.optimizers.Adam(1e-4, epsilon=1e-8)
    optimizer.build(variables)

    def log_density(x, m, lv):
        return -0.5 * ((x - m) ** 2 * tf.exp(-lv) + lv + math.log(2 * math.pi))

    @tf.function(jit_compile=jit_compile)
    def step(x):  # x: (n, 64, 64, K), replica k's images in channel k
        with tf.GradientTape() as tape:
            h = c(x)
            for w, b in zip(enc_w, enc_b):
                h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(h, c(w), 2, "SAME"), c(b)))
            h = tf.reshape(tf.transpose(tf.reshape(h, (n, 16, k, 64)), (2, 0, 1, 3)), (k, n, 1024))
            h = tf.nn.relu(tf.matmul(h, c(dense["e5"][0])) + c(dense["e5"][1]))
            h = tf.cast(tf.matmul(h, c(dense["heads"][0])), tf.float32) + dense["heads"][1]
            mean, logvar = h[..., :L], h[..., L:]
            z = mean + tf.exp(logvar / 2) * tf.random.normal(tf.shape(mean))
            g = tf.nn.relu(tf.matmul(c(z), c(dense["d1"][0])) + c(dense["d1"][1]))
            g = tf.nn.relu(tf.matmul(g, c(dense["d2"][0])) + c(dense["d2"][1]))
            g = tf.reshape(tf.transpose(tf.reshape(g, (k, n, 4, 4, 64)), (1, 2, 3, 0, 4)),
                           (n, 4, 4, k * 64))
            size = 4
            for i, ((_, co), w, b) in enumerate(zip(dec, dec_w, dec_b)):
                size *= 2
                g = tf.nn.bias_add(tf.nn.conv2d_transpose(g, c(w), (n, size, size, k * co), 2, "SAME"), c(b))
                g = tf.nn.relu(g) if i < 3 else tf.cast(g, tf.float32)
            rec = tf.reduce_mean(tf.reduce_sum(
                tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=g), [1, 2]), 0)  # (K,)
            kl = tf.reduce_mean(0.5 * tf.reduce_sum(mean ** 2 + tf.exp(logvar) - logvar - 1, 2), 1)
            lq = log_density(z[:, :, None], mean[:, None], logvar[:, None])
            tc = tf.reduce_mean(tf.reduce_logsumexp(tf.reduce_sum(lq, 3), 2)
                                - tf.reduce_sum(tf.reduce_logsumexp(lq, 2), 2), 1)
            loss = tf.reduce_sum(rec + kl + (BETA - 1) * tc)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    images = tf.constant((np.random.RandomState(0).uniform(size=(n, 64, 64, k)) > 0.8)
                         .astype(np.float32))
    return lambda: step(images)


def _subgraphs_step(k: int):
    from rpu_tf.data.ground_truth_data import GroundTruthData
    from rpu_tf.models import make_model
    from rpu_tf.training import ReplicaGroup

    bank = (np.random.RandomState(0).uniform(size=(512, 64, 64, 1)) > 0.8).astype(np.float32)

    class Bank(GroundTruthData):
        observation_shape = [64, 64, 1]

        def sample_observations(self, num, random_state):
            return bank[random_state.randint(len(bank), size=num)]

    model = make_model("beta_tc_vae", beta=BETA, num_latent=L, encoder_fn="conv_encoder",
                       decoder_fn="deconv_decoder", reconstruction_loss={"loss_fn": "bernoulli_loss"})
    group = ReplicaGroup(model, Bank(), num_replicas=k, batch_size=B)
    return lambda: group.train(1)


def _worker(layout: str, k: int, steps: int) -> dict:
    from rpu_tf.training.runtime import configure_threads_for

    threads = configure_threads_for(k)
    step = _stacked_step(k) if layout == "stacked" else _subgraphs_step(k)
    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return {"images_per_second": k * B * steps / (time.perf_counter() - start),
            "threads": f"intra={threads[0]} inter={threads[1]}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_replicas", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, args.num_replicas, args.steps)))
        return
    rates: dict[str, list[float]] = {"subgraphs": [], "stacked": []}
    threads = {}
    for _ in range(args.rounds):
        for layout in rates:
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", layout,
                                  "--num_replicas", str(args.num_replicas), "--steps",
                                  str(args.steps)], check=True, capture_output=True, text=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            rates[layout].append(result["images_per_second"])
            threads[layout] = result["threads"]
    print(f"{args.num_replicas} replicas of beta_tc_vae (conv 64x64x1, batch {B}); "
          f"load average {os.getloadavg()[0]:.2f}")
    for layout, values in rates.items():
        print(f"{layout:<10} {statistics.median(values):>7.0f} images/s  "
              f"({', '.join(f'{v:.0f}' for v in values)}; {threads[layout]})")


if __name__ == "__main__":
    main()
