"""A tiny rPU-VAE run for the kill/resume test: ``python tests/helpers/rpu_run.py RUN_DIR [PART COUNT]``
runs the quickstart on tiny sprites (every stage: initial metaEpoch, one leaf-run, final
PBT-S-VAE, export, evaluation). With ``PART COUNT`` the process dies (``os._exit(137)``, no
cleanup, like SIGKILL) at the COUNT-th atomic file replace whose target lies under
``RUN_DIR/PART`` (e.g. ``stages/initial``), after the temporary is complete and before the
rename. With ``RPU_RUN_WRITES=FILE`` in the environment, a run that finishes writes to FILE
(JSON) the target of every atomic file replace under RUN_DIR, relative to it, in order: the
moments a kill can hit, measured on this machine."""

import json
import logging
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICKSTART = os.path.join(ROOT, "gin_configs", "quickstart.gin")
SCOPES = ("metaepoch/initial/", "metaepoch/leaf/", "final/")
#: The tiny rPU-VAE of tests/test_rpu_recursive.py (every stage in seconds).
TINY_BASE = [
    "sprites.num_scales = 2", "sprites.num_orientations = 2", "sprites.num_positions_x = 8",
    "sprites.num_positions_y = 8", "encoder.num_latent = 2",
    "pbt.population_size = 2", "pbt_vae.num_replicas = 2", "vae_hyperparameters.batch_sizes = [32]",
    # the quickstart's stage scopes set their own budgets; tiny ones here
    *[f"{scope}pbt_vae.generation_images = 128" for scope in SCOPES],
    *[f"{scope}pbt_stopping.max_generations = 2" for scope in SCOPES],
    "udr_score.num_data_points = 100", "rpu_vae.max_leaf_runs = 1", "rpu_vae.max_meta_epochs = 1",
    "rpu_vae.udr_threshold = 0.0", "rpu_vae.evaluation_points = 200",
    # A few steps leave the codes close to noise, and how much they learn differs between
    # CPUs (bf16 or float32, oneDNN's kernels): at 3e-3 and the paper's reduction one CPU cut
    # hundreds of points and another found no peak at all (no leaf-run). Two latents and
    # peaks only 1 std above the median gap, at least a quarter of the points apart, cut a
    # set of 38 or more of 768 points out of any codes (checked on 300 random code sets:
    # Gaussian, cubed and clustered), so every CPU runs every stage.
    "vae_hyperparameters.learning_rates = [3e-3]",
    "reduction.peak_height_std = 1.0", "reduction.min_peak_distance_fraction = 0.25",
    "active_latents.active_kl_threshold = 1e-4", "final/pbt.population_size = 2",
    "surrogate_mig_score.num_train = 100",
]
#: The kill test's run: a little longer, so there are more moments to kill it at (later
#: bindings override earlier ones).
TINY = TINY_BASE + [*[f"{scope}pbt_vae.generation_images = 256" for scope in SCOPES],
                    *[f"{scope}pbt_stopping.max_generations = 3" for scope in SCOPES], "training.progress = False"]


TIMING_FIELDS = {"wall_time", "images_per_second", "elapsed_time", "uuid"}


def _without_timing(value):
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if k not in TIMING_FIELDS}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value


def run_record(run_dir: str) -> dict:
    """summary.json, manifest.json and every generation log of an rPU-VAE run, timing aside."""
    record = {name: _without_timing(json.load(open(os.path.join(run_dir, name))))
              for name in ("summary.json", "manifest.json")}
    for folder, _, files in os.walk(run_dir):
        if "generations.jsonl" in files:
            with open(os.path.join(folder, "generations.jsonl")) as f:
                record[os.path.relpath(folder, run_dir)] = [_without_timing(json.loads(line)) for line in f]
    return record


def die_at_write(run_dir: str, part: str, count: int) -> None:
    import rpu_tf.utils.files as files

    prefix = os.path.join(os.path.abspath(run_dir), part)
    calls = [0]
    replace = files.os.replace

    def dying_replace(source, target, *args, **kwargs):
        if os.path.abspath(str(target)).startswith(prefix):
            calls[0] += 1
            if calls[0] == count:
                os._exit(137)
        return replace(source, target, *args, **kwargs)

    files.os.replace = dying_replace


def record_writes(run_dir: str, path: str) -> None:
    """Record every atomic replace under ``run_dir`` and write the list to ``path`` at a
    normal exit."""
    import atexit

    import rpu_tf.utils.files as files

    root = os.path.abspath(run_dir)
    targets: list = []
    replace = files.os.replace

    def recording_replace(source, target, *args, **kwargs):
        result = replace(source, target, *args, **kwargs)
        target = os.path.abspath(str(target))
        if target.startswith(root + os.sep):
            targets.append(os.path.relpath(target, root))
        return result

    files.os.replace = recording_replace

    def dump():
        with open(path, "w") as f:
            json.dump(targets, f)

    atexit.register(dump)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sys.path.insert(0, ROOT)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if len(sys.argv) > 3:
        die_at_write(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    if os.environ.get("RPU_RUN_WRITES"):
        record_writes(sys.argv[1], os.environ["RPU_RUN_WRITES"])
    from rpu_tf.pipelines.rpu_vae import rpu_vae_with_gin

    rpu_vae_with_gin(sys.argv[1], False, [QUICKSTART], TINY)
    print("finished", flush=True)
