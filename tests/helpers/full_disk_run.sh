#!/usr/bin/env bash
# For tests/test_full_disk.py, inside `unshare --mount` (root): trains a small model into a
# tmpfs with FREE_KIB KiB free (it passes the start's space check, then the export finds the
# disk full), frees the space and, when that run failed, runs the same command again. With
# READ_ONLY=1 the freed disk is first made read-only for one more attempt (the "readonly" exit
# code and log), then writable again for the last.
# Usage: full_disk_run.sh MOUNT FREE_KIB PYTHON REPO [READ_ONLY]
set -u
M=$1; FREE=$2; PY=$3; REPO=$4; READ_ONLY=${5:-0}
mkdir -p "$M" && mount -t tmpfs -o size=20m tmpfs "$M" || exit 77
fallocate -l $((20 * 1024 * 1024 - FREE * 1024)) "$M/filler" || exit 77
ARGS=(--model_dir="$M/run" --gin_config="$REPO/gin_configs/quickstart_single_model.gin"
      --gin_bindings="model.training_steps = 240" --gin_bindings="model.batch_size = 8"
      --gin_bindings="model.eval_steps = 2" --gin_bindings="model.checkpoint_every = 30"
      --gin_bindings="model.random_seed = 4" --gin_bindings="sprites.num_scales = 2"
      --gin_bindings="training.progress = False")
"$PY" -m rpu_tf.cli.train "${ARGS[@]}" > "$M.first.log" 2>&1
FIRST=$?
echo "first=$FIRST"
rm -f "$M/filler"
if [ "$READ_ONLY" = 1 ]; then
  mount -o remount,ro "$M" || exit 77
  "$PY" -m rpu_tf.cli.train "${ARGS[@]}" > "$M.readonly.log" 2>&1
  echo "readonly=$?"
  mount -o remount,rw "$M" || exit 77
fi
if [ "$FIRST" != 0 ]; then  # a run that finished the first time has nothing to resume
  "$PY" -m rpu_tf.cli.train "${ARGS[@]}" > "$M.second.log" 2>&1
  echo "second=$?"
fi
cp -r "$M/run/model" "$M.model"
