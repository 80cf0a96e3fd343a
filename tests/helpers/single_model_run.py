"""A small single-model run for the kill/resume tests: ``python tests/helpers/single_model_run.py RUN_DIR
[write COUNT | stop_after COUNT] [BINDING ...]`` trains the quickstart's beta-TCVAE for :data:`STEPS` steps of 8
images with a checkpoint every :data:`CHECKPOINT_EVERY` steps; with ``write COUNT`` the process dies
(``os._exit(137)``, no cleanup, like SIGKILL) at its COUNT-th atomic file replace, after the
temporary file is complete and before the rename; with ``stop_after COUNT`` it prints
:data:`STOPPED` once its COUNT-th checkpoint is saved and waits there (for the test's SIGKILL).
Further arguments are gin bindings added to :data:`BINDINGS`."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = [os.path.join(ROOT, "gin_configs", "quickstart_single_model.gin")]
STEPS = 240
CHECKPOINT_EVERY = 30
BINDINGS = [f"model.training_steps = {STEPS}", "model.batch_size = 8", "model.eval_steps = 2",
            f"model.checkpoint_every = {CHECKPOINT_EVERY}", "model.random_seed = 4",
            "sprites.num_orientations = 2", "sprites.num_positions_x = 4", "sprites.num_positions_y = 4",
            "encoder.num_latent = 4", "training.progress = False"]


#: What the process prints where it waits to be killed (``stop_after``).
STOPPED = "stopped after checkpoint"


def stop_after_checkpoint(count: int) -> None:
    """After its ``count``-th checkpoint is saved the process prints :data:`STOPPED` and waits
    (an hour at most): a kill there lands while the run is training, wherever the machine is
    fast."""
    import time

    import rpu_tf.training.checkpoints as checkpoints

    saves = [0]
    save = checkpoints.save

    def stopping_save(*args, **kwargs):
        save(*args, **kwargs)
        saves[0] += 1
        if saves[0] == count:
            print(f"{STOPPED} {count}", flush=True)
            time.sleep(3600)

    checkpoints.save = stopping_save


def die_at_write(count: int) -> None:
    import rpu_tf.utils.files as files

    calls = [0]
    replace = files.os.replace

    def dying_replace(*args):
        calls[0] += 1
        if calls[0] == count:
            os._exit(137)
        return replace(*args)

    files.os.replace = dying_replace


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sys.path.insert(0, ROOT)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    extra = sys.argv[2:]
    if extra[:1] == ["write"]:
        die_at_write(int(extra[1]))
        extra = extra[2:]
    elif extra[:1] == ["stop_after"]:
        stop_after_checkpoint(int(extra[1]))
        extra = extra[2:]
    from rpu_tf.pipelines.single_model import train_with_gin

    train_with_gin(sys.argv[1], False, CONFIG, BINDINGS + extra)
    print("finished", flush=True)
