"""Runs the tiny rPU-VAE of ``tests/helpers/rpu_run.py`` with the Ray executor (2 actors), for
``tests/test_rpu_ray.py``, inside a loopback-only network namespace.

Usage: python tests/helpers/rpu_ray_main.py RUN_DIR [MARKER_FILE]

With MARKER_FILE, the first member step that finds no such file creates it and kills its
actor's process (``os._exit``) in the middle of training a VAE member; Ray restarts the actor
and the executor resubmits the step.
"""

from __future__ import annotations

import logging
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)


class CrashOnceFactory:
    """Wraps a VAE member factory: the member it builds dies (its whole process) in its
    first training call when ``marker`` does not exist yet, after creating it."""

    def __init__(self, factory, marker: str):
        self.factory, self.marker = factory, marker

    def configure_worker(self, num_cpus, num_gpus):
        return self.factory.configure_worker(num_cpus, num_gpus)

    def __call__(self):
        member = self.factory()
        train, marker = member.train, self.marker

        def train_or_die(num_steps, seed):
            if not os.path.exists(marker):
                open(marker, "w").close()
                os._exit(1)
            return train(num_steps, seed)

        member.train = train_or_die
        return member


def ray_bindings(temp_dir: str) -> list[str]:
    # Float results depend on how many threads split an op (the order of its sums): an actor
    # sized to its 1 CPU would compute other bits than the local run, which uses all cores.
    # The driver's explicit intra-op setting travels to the actors, so both sides use the same.
    return ['pbt_vae.executor = "ray"', "ray_executor.max_concurrent_members = 2", "ray_executor.max_restarts = 2",
            f"training.intra_op_threads = {os.cpu_count() or 1}",
            f'ray_executor.init_kwargs = {{"num_cpus": 2, "_temp_dir": "{temp_dir}"}}']


def main(run_dir: str, marker: str | None = None) -> None:
    from tests.helpers.rpu_run import QUICKSTART, TINY_BASE

    import rpu_tf.rpu.pbt_vae as pbt_vae
    from rpu_tf.pipelines.rpu_vae import rpu_vae_with_gin

    if marker is not None:
        make = pbt_vae.make_executor
        pbt_vae.make_executor = lambda kind, factory, **kw: make(kind, CrashOnceFactory(factory, marker), **kw)
    rpu_vae_with_gin(run_dir, False, [QUICKSTART], TINY_BASE + ["training.progress = False"]
                     + ray_bindings(os.environ["RAY_TMPDIR"]))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
