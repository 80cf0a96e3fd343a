"""The beta-TCVAE training step with the library's math (TensorFlow Probability) against the
hand-written tf.math formulas it replaced (tests/helpers/handwritten_math.py), in one process.

Two cases, each timed for both implementations in interleaved rounds (A B, then B A, ...):

- ``step``: one ``beta_tc_vae`` (conv_encoder/deconv_decoder, 64x64x1 sprites from an
  in-memory bank, batch 64, Bernoulli loss, 10 latents) trained by
  :class:`rpu_tf.training.ReplicaGroup` with ``K = 1``, what ``rpu_train`` runs; images/s.
- ``math``: only what changed: value and gradients of reconstruction loss + KL + (beta - 1) *
  TC with respect to fixed codes ``(64, 10)`` and logits ``(64, 64, 64, 1)``, as one
  ``tf.function`` through :meth:`BaseVAE.sample_latents` and :meth:`BaseVAE.terms_from_codes`;
  calls/s x batch = images/s.

The hand-written math is patched into ``rpu_tf.models`` (the module globals the model calls)
while its group is built, traced and run. Prints the CPU, the precision, the load average
before and after, the median images/s of each implementation over the rounds and the ratio
TFP / hand-written (below 1: TFP is slower), and each round's ratio (the spread is the noise).
Both as wall-clock images/s and as images per CPU-second of the process (all threads), which a
busy shared machine disturbs less than the wall clock.

Usage: python benchmarks/tfp_step.py [--steps 15] [--rounds 10] [--precision float32]
       [--math_calls 150] [--cases step,math]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from typing import Callable, Iterator, NamedTuple

import numpy as np

from machine import cpu_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BANK_SIZE = 1024
NUM_LATENT = 10
BETA = 6.0
IMPLEMENTATIONS = ("handwritten", "tfp")


class Rate(NamedTuple):
    """One measurement: images/s of wall-clock time and images per CPU-second of the process."""

    wall: float
    cpu: float


def timed(images: int, body: Callable[[], None]) -> Rate:
    """Runs ``body`` (which processes ``images`` images) and returns its :class:`Rate`."""
    wall, cpu = time.perf_counter(), time.process_time()
    body()
    return Rate(images / (time.perf_counter() - wall), images / (time.process_time() - cpu))


@contextlib.contextmanager
def implementation(name: str) -> Iterator[None]:
    """Runs the body with the library's math (``"tfp"``) or the hand-written formulas patched
    into the modules whose globals the models call (``"handwritten"``)."""
    from rpu_tf.models import base_vae, losses, regularizers, vae
    from tests.helpers import handwritten_math as ref

    saved = []
    if name == "handwritten":
        names = ("gaussian_log_density", "bernoulli_loss", "l2_loss", "compute_gaussian_kl",
                 "total_correlation")
        for module in (losses, regularizers, base_vae, vae):
            for attr in names:
                if hasattr(module, attr):
                    saved.append((module, attr, getattr(module, attr)))
                    setattr(module, attr, getattr(ref, attr))
        saved.append((base_vae.BaseVAE, "sample_from_latent_distribution",
                      base_vae.BaseVAE.__dict__["sample_from_latent_distribution"]))
        base_vae.BaseVAE.sample_from_latent_distribution = staticmethod(ref.sample_from_latent_distribution)
    try:
        yield
    finally:
        for owner, attr, value in reversed(saved):
            setattr(owner, attr, value)


def _bank(image_size: int = 64) -> np.ndarray:
    """``BANK_SIZE`` rendered sprites, float32 ``(n, image_size, image_size, 1)``."""
    from rpu_tf.data.sprites import Sprites

    return Sprites(image_size=image_size).sample_observations(BANK_SIZE, np.random.RandomState(0))


def _model():
    from rpu_tf.models import make_model

    return make_model("beta_tc_vae", beta=BETA, num_latent=NUM_LATENT, encoder_fn="conv_encoder",
                      decoder_fn="deconv_decoder", reconstruction_loss={"loss_fn": "bernoulli_loss"})


def step_runners(args) -> dict[str, Callable[[], Rate]]:
    """Per implementation, a function that trains ``args.steps`` steps; returns its :class:`Rate`."""
    from rpu_tf.data.ground_truth_data import GroundTruthData
    from rpu_tf.training.replica_group import ReplicaGroup

    bank = _bank()

    class Bank(GroundTruthData):
        observation_shape = [64, 64, 1]

        def sample_observations(self, num, random_state):
            return bank[random_state.randint(BANK_SIZE, size=num)]

    runners = {}
    for name in IMPLEMENTATIONS:
        with implementation(name):
            group = ReplicaGroup(_model(), Bank(), num_replicas=1, batch_size=args.batch_size,
                                 random_seed=0, precision=args.precision, model_batching="replicas")
            group.train(args.warmup)  # traces the step with this implementation's math

        def run(group=group, name=name) -> Rate:
            with implementation(name):
                return timed(args.batch_size * args.steps, lambda: group.train(args.steps))

        runners[name] = run
    return runners


def math_runners(args) -> dict[str, Callable[[], Rate]]:
    """Per implementation, a function that runs ``args.math_calls`` loss-and-gradient calls
    of the replaced math alone; returns its :class:`Rate`."""
    import tensorflow as tf

    model = _model()
    model.build((None, 64, 64, 1))
    rs = np.random.RandomState(0)
    images = tf.constant(_bank()[: args.batch_size])
    mean = tf.constant(rs.normal(size=(args.batch_size, NUM_LATENT)), tf.float32)
    logvar = tf.constant(rs.uniform(-4, 1, size=(args.batch_size, NUM_LATENT)), tf.float32)
    logits = tf.constant(rs.normal(size=(args.batch_size, 64, 64, 1)), tf.float32)
    seed = tf.constant([1, 2], tf.int64)
    runners = {}
    for name in IMPLEMENTATIONS:
        with implementation(name):
            @tf.function
            def loss_and_grads(mean, logvar, logits):
                with tf.GradientTape() as tape:
                    tape.watch([mean, logvar, logits])
                    z = model.sample_latents(mean, logvar, seed)
                    loss = model.terms_from_codes(images, mean, logvar, z, logits, seed=seed)["loss"]
                return loss, tape.gradient(loss, [mean, logvar, logits])

            loss_and_grads(mean, logvar, logits)  # traces with this implementation's math

        def run(fn=loss_and_grads) -> Rate:
            def calls() -> None:
                for _ in range(args.math_calls):
                    out = fn(mean, logvar, logits)
                float(out[0])

            return timed(args.batch_size * args.math_calls, calls)

        runners[name] = run
    return runners


def measure(runners: dict[str, Callable[[], Rate]], rounds: int) -> dict[str, list[Rate]]:
    """The :class:`Rate` of each implementation per round, the order alternating between rounds."""
    rates = {name: [] for name in runners}
    for r in range(rounds):
        for name in (IMPLEMENTATIONS if r % 2 == 0 else IMPLEMENTATIONS[::-1]):
            rates[name].append(runners[name]())
    return rates


def report(case: str, rates: dict[str, list[Rate]]) -> None:
    """Prints the medians over the rounds, their ratio, and the ratio of each round."""
    for field, unit in (("wall", "img/s"), ("cpu", "img/CPU-s")):
        hand, tfp = (statistics.median(getattr(r, field) for r in rates[n]) for n in IMPLEMENTATIONS)
        ratios = [getattr(t, field) / getattr(h, field) for h, t in zip(*(rates[n] for n in IMPLEMENTATIONS))]
        print(f"{case:4s} {field:4s} handwritten {hand:8.1f} {unit}  tfp {tfp:8.1f} {unit}  ratio tfp/handwritten "
              f"{tfp / hand:.3f} (median of rounds {statistics.median(ratios):.3f}; "
              f"rounds {' '.join(f'{x:.2f}' for x in ratios)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15, help="training steps per measurement")
    parser.add_argument("--warmup", type=int, default=3, help="steps before measuring (tracing)")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--precision", default="float32", help="float32, mixed_bfloat16 or auto")
    parser.add_argument("--math_calls", type=int, default=150, help="calls per math measurement")
    parser.add_argument("--cases", default="step,math")
    args = parser.parse_args()

    from rpu_tf.training.runtime import configure_threads_for

    configure_threads_for(1)
    import tensorflow as tf
    import tensorflow_probability as tfp

    print(f"CPU: {cpu_name()} ({os.cpu_count()} logical)   load before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"TensorFlow {tf.__version__}, TFP {tfp.__version__}, precision {args.precision}, "
          f"batch {args.batch_size}, {args.rounds} rounds")
    cases = {"step": step_runners, "math": math_runners}
    for case in args.cases.split(","):
        report(case, measure(cases[case](args), args.rounds))
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
