#!/usr/bin/env bash
# Issue 4 on the GPU machine (whole GPU, MIG stays off; the MPS daemons are ours and quit at the end):
# 7 copies of tools/device/mlp_train.py, one at a time, all at once (time-sliced) and all at once under MPS,
# each started by a plain shell script and by `migctl run`, interleaved so drift hits both alike.
#   bash tools/device/build_static.sh   (on the dev machine; carry build-device)
#   bash tools/device/run_mlp.sh        (on the GPU machine; results in $OUT)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
M=$PWD/${MIGCTL_BIN_DIR:-build-device}/migctl
TRAIN="python3 $PWD/tools/device/mlp_train.py ${MLP_ARGS:-}"
N=7
now() { date +%s.%N; }
report() { echo "RESULT $1 wall_s=$(python3 -c "print(round($3 - $2, 2))")"; }

ROUNDS=${ROUNDS:-1}
nvidia-smi --query-gpu=name,driver_version,mig.mode.current,compute_mode --format=csv
echo "=== warm-up (CUDA and PyTorch caches)"; $TRAIN --epochs 1

for round in $(seq $ROUNDS); do
echo "##### round $round"
echo "=== shell: one at a time"; t0=$(now)
for i in $(seq $N); do $TRAIN >> "$OUT/shell_seq.jsonl"; done; t1=$(now); report shell_seq $t0 $t1

echo "=== migctl: one at a time (--share none --workers 1)"; t0=$(now)
$M run --share none --workers 1 --repeat $N --json --results "$OUT/migctl_seq.jsonl" -- $TRAIN > /dev/null
echo "exit $?"; t1=$(now); report migctl_seq $t0 $t1

echo "=== shell: all at once"; t0=$(now)
for i in $(seq $N); do $TRAIN >> "$OUT/shell_par.jsonl" & done; wait; t1=$(now); report shell_par $t0 $t1

echo "=== migctl: all at once (--share none --workers 7)"; t0=$(now)
$M run --share none --workers $N --repeat $N --json --results "$OUT/migctl_par.jsonl" -- $TRAIN > /dev/null
echo "exit $?"; t1=$(now); report migctl_par $t0 $t1

if command -v nvidia-cuda-mps-control >/dev/null; then
  echo "=== shell: all at once under MPS (own daemon, private directories)"
  D=$(mktemp -d); export CUDA_MPS_PIPE_DIRECTORY=$D/pipe CUDA_MPS_LOG_DIRECTORY=$D/log
  mkdir -p $D/pipe $D/log; nvidia-cuda-mps-control -d; t0=$(now)
  for i in $(seq $N); do $TRAIN >> "$OUT/shell_mps.jsonl" & done; wait; t1=$(now)
  echo quit | nvidia-cuda-mps-control; sleep 1; report shell_mps $t0 $t1
  unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY

  echo "=== migctl: all at once under MPS (--share mps --workers 7)"; t0=$(now)
  $M run --share mps --workers $N --repeat $N --json --results "$OUT/migctl_mps.jsonl" -- $TRAIN > /dev/null
  echo "exit $?"; t1=$(now); report migctl_mps $t0 $t1

  echo "=== migctl: under MPS with --mps-threads auto (each worker 14% of the SMs)"; t0=$(now)
  $M run --share mps --workers $N --mps-threads auto --repeat $N --json --results "$OUT/migctl_mps_auto.jsonl" -- $TRAIN > /dev/null
  echo "exit $?"; t1=$(now); report migctl_mps_threads_auto $t0 $t1
  echo "=== leftovers: MPS processes after the runs (want none)"; pgrep -a nvidia-cuda-mps || echo none
else
  echo "nvidia-cuda-mps-control not found: MPS runs skipped"
fi
done
echo "=== migctl MPS directories left (want none)"; ls -d /tmp/migctl-mps-$(id -u)/run-* 2>/dev/null || echo none
