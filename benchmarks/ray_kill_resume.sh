#!/usr/bin/env bash
# A Ray-executed PBT run killed by `timeout -s KILL` and resumed by the same command ends
# with the uninterrupted run's result (issue 13). Runs, one after the other:
#   1. the uninterrupted run (reference),
#   2. the same command under `timeout -s KILL $KILL_AFTER_S` (default 600),
#   3. the same command again (resume),
# each in a loopback-only network namespace when `unshare --net` works (root), with Ray's
# usage stats off; then compares generations.jsonl, pbt/result.json, the exported results
# (timing fields aside) and the exported model's weights, and prints IDENTICAL or DIFFERENT.
#   bash benchmarks/ray_kill_resume.sh OUT_DIR [GENERATIONS=12] [KILL_AFTER_S=600]
# About 25 minutes on 2 CPU cores with the defaults (the run must outlast the kill).
set -u
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${1:?give an output folder}"); GENERATIONS=${2:-12}; KILL_AFTER_S=${3:-600}
mkdir -p "$OUT"
export RAY_USAGE_STATS_ENABLED=0 RAY_AUTH_MODE=disabled RAY_DISABLE_DOCKER_CPU_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2
train() {  # $1: run directory; $2: optional command prefix
  local cmd="$2 rpu_train --gin_config=gin_configs/pbt/pbt_u_vae_udr_small.gin --model_dir=$1 \
--gin_bindings='pbt_vae.executor = \"ray\"' --gin_bindings='pbt_stopping.max_generations = $GENERATIONS'"
  if unshare --net true 2>/dev/null; then
    RAY_TMPDIR=$(mktemp -d /tmp/rayXXXX) unshare --net bash -c "ip link set lo up && $cmd"
  else
    RAY_TMPDIR=$(mktemp -d /tmp/rayXXXX) bash -c "$cmd"
  fi
}
step() {  # $1: name, $2: run dir, $3: prefix
  local t0=$SECONDS
  train "$2" "${3:-}" > "$OUT/$1.log" 2>&1; local rc=$?
  echo "$1: rc=$rc, $((SECONDS - t0)) s; Ray processes left: $(pgrep -fc 'raylet|gcs_server' || true)"
  pkill -9 -f 'raylet|gcs_server|ray::' 2>/dev/null || true
}
step reference "$OUT/reference"
step killed "$OUT/killed" "timeout -s KILL $KILL_AFTER_S"
step resumed "$OUT/killed"
python - "$OUT" <<'PY'
import json, os, sys

import numpy as np

out = sys.argv[1]
TIMING = ("elapsed_time", "uuid", "wall_time", "images_per_second")


def clean(value):
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if not k.endswith(TIMING)}
    return [clean(v) for v in value] if isinstance(value, list) else value


def record(run):
    files = {"pbt/generations.jsonl": None, "pbt/result.json": None, "model/results/aggregate/train.json": None}
    for name in files:
        with open(os.path.join(run, name)) as f:
            files[name] = clean([json.loads(line) for line in f] if name.endswith(".jsonl") else json.load(f))
    return files


a, b = record(os.path.join(out, "reference")), record(os.path.join(out, "killed"))
differ = [name for name in a if a[name] != b[name]]
from rpu_tf.training.export import load_keras

weights = [load_keras(os.path.join(out, run, "model", "model.keras")).get_weights() for run in ("reference", "killed")]
same_weights = all(np.array_equal(x, y) for x, y in zip(*weights))
result = a["pbt/result.json"]
print(f"generations {result['generations']}, best score {result['best_score']:.4f} (member {result['best_member_id']})")
print(f"differ: {differ or 'nothing'}; model weights equal: {same_weights}")
print("IDENTICAL" if not differ and same_weights else "DIFFERENT")
PY
