"""``rpu_evaluate --overwrite`` with failing settings, in a fresh interpreter (for the tests).

Run as ``python tests/helpers/overwrite_run.py WORK_DIR EVIL_DIR``; prints one JSON line: per step its
exit code and a digest of every file under ``run/metrics`` and ``run/postprocessed``. A fresh
process keeps the gin registry free of disentanglement_lib's metric names.

Steps (WORK_DIR/run, a model trained for a few steps):
  first      rpu_evaluate mig + dci, mean representation
  bad_mig    the same with --overwrite and mig.num_train = -5   (must fail, change nothing)
  bad_dci    the same with --overwrite and dci.num_test = 0     (must fail, change nothing)
  importing  --overwrite with a metric config whose ``import`` line names a module in
             EVIL_DIR (on the import path): refused, the module never runs
  good       --overwrite with valid settings: replaces the results
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
METRICS = os.path.join(ROOT, "gin_configs", "metrics")
TRAIN_BINDINGS = [
    "model.training_steps = 4", "model.batch_size = 8", "model.eval_steps = 1", "encoder.num_latent = 3",
    "sprites.num_orientations = 2", "sprites.num_positions_x = 4", "sprites.num_positions_y = 4",
    "training.progress = False",
]
SMALL = ["--gin_bindings=mig.num_train = 200", "--gin_bindings=dci.num_train = 100",
         "--gin_bindings=dci.num_test = 50"]


def digest(run: str) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``run/metrics`` and ``run/postprocessed``."""
    out = {}
    for sub in ("metrics", "postprocessed"):
        for folder, _, files in os.walk(os.path.join(run, sub)):
            for name in files:
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    out[os.path.relpath(path, run)] = hashlib.sha256(f.read()).hexdigest()
    return out


def main(work_dir: str, evil_dir: str) -> dict:
    sys.path.insert(0, ROOT)
    from rpu_tf.cli import evaluate
    from rpu_tf.pipelines.single_model import train_with_gin

    run = os.path.join(work_dir, "run")
    train_with_gin(run, False, [os.path.join(ROOT, "gin_configs", "baselines", "beta_tc_vae.gin")], TRAIN_BINDINGS)
    argv = ["rpu_evaluate", f"--model_dir={run}", "--representations=mean",
            f"--gin_config={os.path.join(METRICS, 'mig.gin')}", f"--gin_config={os.path.join(METRICS, 'dci.gin')}"]
    steps = {"first": evaluate.main(argv + SMALL)}
    digests = {"first": digest(run)}
    for step, binding in (("bad_mig", "mig.num_train = -5"), ("bad_dci", "dci.num_test = 0")):
        steps[step] = evaluate.main(argv + SMALL + ["--overwrite", f"--gin_bindings={binding}"])
        digests[step] = digest(run)
    importing = os.path.join(work_dir, "importing_mig.gin")
    with open(importing, "w", encoding="utf-8") as f:
        f.write("import safety_probe_module\n" + open(os.path.join(METRICS, "mig.gin"), encoding="utf-8").read())
    sys.path.insert(0, evil_dir)  # the module is importable: only the refusal keeps it from running
    steps["importing"] = evaluate.main(argv[:3] + [f"--gin_config={importing}", "--overwrite"] + SMALL)
    digests["importing"] = digest(run)
    steps["good"] = evaluate.main(argv + SMALL + ["--overwrite"])
    digests["good"] = digest(run)
    return {"codes": steps, "digests": digests}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
