"""Encoding throughput: whole-data-set encoding (UDR, reduction, metrics) per batch size and
precision, and how far 16-bit codes are from float32 ones.

Encodes ``--num_images`` sprites with the conv encoder (10 latents, the same weights in every
precision) through :func:`rpu_tf.training.representation.encode_data_set`, for each batch
size and for float32 and the auto precision (:mod:`rpu_tf.training.precision`); prints
images/s (best of ``--repeats``) and, for 16-bit precision, the largest difference of the
means from float32 relative to the codes' spread. This is how the default encode batch size
(``DEFAULT_ENCODE_BATCH_SIZE``) was chosen.

Usage: python benchmarks/encode_throughput.py [--num_images 8192] [--batch_sizes 64,128,...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_images", type=int, default=8192)
    parser.add_argument("--batch_sizes", default="64,128,256,512,1024,2048")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from rpu_tf.training.runtime import configure_threads_for

    configure_threads_for(1)
    from rpu_tf.data import Sprites
    from rpu_tf.models import clone_model, make_model
    from rpu_tf.training.precision import auto_precision
    from rpu_tf.training.representation import DEFAULT_ENCODE_BATCH_SIZE, encode_data_set

    data = Sprites(num_orientations=10, num_positions_x=16, num_positions_y=16)
    indices = np.random.RandomState(0).choice(data.num_observations, args.num_images, replace=False)
    f32 = make_model("beta_tc_vae", data.observation_shape, beta=6.0, num_latent=10,
                     encoder_fn="conv_encoder", decoder_fn="deconv_decoder",
                     reconstruction_loss={"loss_fn": "bernoulli_loss"}, seed=0)
    auto = auto_precision()[0]
    models = {"float32": f32}
    if auto != "float32":
        models[auto] = clone_model(f32, seed=0, precision=auto)
        models[auto].set_weights(f32.get_weights())
    print(f"encoding {args.num_images} sprites (64x64x1), conv encoder, 10 latents; auto precision "
          f"{auto}; cpus {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}; current default "
          f"batch size {DEFAULT_ENCODE_BATCH_SIZE}")
    reference = None
    print(f"{'batch':>6} " + " ".join(f"{name + ' img/s':>22}" for name in models))
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        cells = []
        for name, model in models.items():
            encode_data_set(model, data, indices[:batch], batch_size=batch)  # trace
            best = 0.0
            for _ in range(args.repeats):
                start = time.perf_counter()
                means, _ = encode_data_set(model, data, indices, batch_size=batch)
                best = max(best, args.num_images / (time.perf_counter() - start))
            if name == "float32":
                reference = means
            cells.append(f"{best:>22.0f}")
        print(f"{batch:>6} " + " ".join(cells), flush=True)
    if auto != "float32":
        means, _ = encode_data_set(models[auto], data, indices)
        spread = reference.std(axis=0).max()
        print(f"{auto} vs float32 means: max |difference| {np.abs(means - reference).max():.4f} "
              f"= {np.abs(means - reference).max() / spread:.4f} of the largest code std")


if __name__ == "__main__":
    main()
