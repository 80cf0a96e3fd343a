#!/usr/bin/env bash
# Device check, at most 5 minutes on a fresh machine: installs rpu_tf from this checkout
# (into ./.venv-device unless rpu_tf already imports; with CUDA libraries when nvidia-smi
# finds a GPU) and prints the training images/s table of benchmarks/device_check.py:
# replica group at K = 1, 5, 10, 20, float32 vs bfloat16 (and float16 on GPUs), XLA off/on,
# K sub-graphs vs batched models (training.model_batching). Runs on CPU-only machines too.
#   bash benchmarks/device_check.sh            # total budget 300 s
#   DEVICE_CHECK_BUDGET_S=600 bash benchmarks/device_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
budget=${DEVICE_CHECK_BUDGET_S:-300}
PY=${PYTHON:-python3}
if ! "$PY" -c "import rpu_tf, tensorflow" >/dev/null 2>&1; then
  "$PY" -m venv .venv-device
  . .venv-device/bin/activate
  PY=python
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    pip install -q -e ".[gpu]"
  else
    pip install -q -e .
  fi
fi
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L || echo "no nvidia-smi: CPU figures"
echo "install/setup: $((SECONDS - start)) s"
left=$((budget - (SECONDS - start) - 10))
if [ "$left" -lt 30 ]; then left=30; fi
"$PY" benchmarks/device_check.py --budget_s "$left"
echo "device check: $((SECONDS - start)) s in all"
