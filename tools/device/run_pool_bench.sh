#!/usr/bin/env bash
# Issue 13 on the GPU machine (MIG stays off; every MPS daemon is the contender's own and quits at the end):
# 7 and 28 trainings of tools/device/mlp_train.py on 7 workers through migctl.Pool, one-process-per-task
# `migctl run`, and a hand-written multiprocessing pool, side by side (bench/python_pool.py).
#   bash tools/device/build_static.sh && mkdir -p build-dev-bin && cp build-device/{migctl,libmigsim.so} build-dev-bin/
#   SHARE=mps bash tools/device/run_pool_bench.sh     (carry build-dev-bin; about 200 s a round)
#   SHARE=none bash tools/device/run_pool_bench.sh
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export MIGCTL_BIN=$PWD/${MIGCTL_BIN_DIR:-build-dev-bin}/migctl
SHARE=${SHARE:-mps}
nvidia-smi --query-gpu=name,driver_version,mig.mode.current,compute_mode --format=csv
echo "=== warm-up (CUDA and PyTorch caches)"; python3 tools/device/mlp_train.py --epochs 1
python3 bench/python_pool.py --share "$SHARE" --workers 7 --tasks "${TASKS:-7,28}" --rounds "${ROUNDS:-1}" \
  --json "$OUT/pool_bench_$SHARE.jsonl"
echo "=== leftovers: MPS processes after the runs (want none)"; pgrep -a nvidia-cuda-mps || echo none
