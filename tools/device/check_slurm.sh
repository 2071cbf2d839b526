#!/usr/bin/env bash
# Issue 12 on the GPU machine, read-only (MIG stays off; no Slurm daemon is started there): what the driver's
# capability table and device files look like, that NVML's minor number names the GPU's /dev/nvidiaN, and that
# `migctl slurm gres` refuses a node without MIG in one line.
#   bash tools/device/build_static.sh && mkdir -p build-dev-bin && cp build-device/{migctl,libmigsim.so} build-dev-bin/
#   MIGCTL_BIN_DIR=build-dev-bin bash tools/device/check_slurm.sh      (on the GPU machine; results in $OUT)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
M=$PWD/${MIGCTL_BIN_DIR:-build-dev-bin}/migctl
{
  echo "=== /proc/driver/nvidia-caps/mig-minors (head, tail, lines)"
  head -4 /proc/driver/nvidia-caps/mig-minors; tail -1 /proc/driver/nvidia-caps/mig-minors
  wc -l < /proc/driver/nvidia-caps/mig-minors
  echo "=== device files"; ls -l /dev/nvidia[0-9]* /dev/nvidia-caps/ 2>&1 | head -12
  echo "=== NVML minor numbers"; python3 -c "
import pynvml as n; n.nvmlInit()
for i in range(n.nvmlDeviceGetCount()):
    h = n.nvmlDeviceGetHandleByIndex(i); print(i, n.nvmlDeviceGetName(h), 'minor', n.nvmlDeviceGetMinorNumber(h))"
  echo "=== migctl status -i 0 (minor in --json)"; $M --json status -i 0 | python3 -c "import json,sys; g=json.load(sys.stdin)['gpus'][0]; print(g.get('name'), g.get('mig'))"
  echo "=== migctl slurm gres (MIG off: expect one refusal line, exit 2)"; $M slurm gres; echo "exit $?"
} 2>&1 | tee "$OUT/check_slurm.txt"
