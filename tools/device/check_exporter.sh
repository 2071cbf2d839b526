#!/usr/bin/env bash
# Issue 15 on the GPU machine (MIG stays off; the only load is our own PyTorch process): our GPM declarations
# against the real nvml.h, `migctl exporter --once` idle and under a matmul load (whole-GPU GPM ratios), and
# one look's time against the NVML floor of the same calls (tools/device/exporter_floor.c).
#   bash tools/device/build_static.sh && mkdir -p build-dev-bin && cp build-device/{migctl,libmigsim.so} build-dev-bin/
#   MIGCTL_BIN_DIR=build-dev-bin bash tools/device/check_exporter.sh      (on the GPU machine; results in $OUT)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
M=$PWD/${MIGCTL_BIN_DIR:-build-dev-bin}/migctl
nvidia-smi --query-gpu=name,driver_version,mig.mode.current --format=csv,noheader
echo "=== ABI of our NVML declarations (GPM included) against the real nvml.h"
bash tools/device/abi_check.sh > "$OUT/abi.txt" 2>&1; echo "abi_check exit $?"; grep -E "GPM|nvmlGpm|ABI|signatures" "$OUT/abi.txt"
gcc -O2 -Isrc tools/device/exporter_floor.c -o /tmp/exporter_floor -ldl || exit 1
echo "=== timing, idle GPU: the floor, migctl's looks (--textfile every 0.1 s, collect_seconds), the floor again"
/tmp/exporter_floor libnvidia-ml.so.1 100 100
/tmp/exporter_floor libnvidia-ml.so.1 200 0
D=$(mktemp -d); $M exporter --textfile "$D" --interval 0.1 2>/dev/null & E=$!
sleep 0.5; : > "$OUT/looks.txt"
for _ in $(seq 1 40); do sleep 0.11; awk '/^migctl_exporter_collect_seconds/ {print $2}' "$D/migctl.prom" >> "$OUT/looks.txt"; done
kill $E; wait $E 2>/dev/null
sort -n "$OUT/looks.txt" | awk '{a[NR]=$1} END {printf "migctl look: median %.3f ms, min %.3f ms, of %d readings\n", a[int((NR+1)/2)]*1000, a[1]*1000, NR}'
/tmp/exporter_floor libnvidia-ml.so.1 100 100
echo "=== exporter --once, idle"
$M exporter --once > "$OUT/idle.prom"; echo "exit $?"; grep -E "_ratio|collect_seconds" "$OUT/idle.prom" | grep -v '^#'
echo "=== exporter --once under a matmul load"
python3 -c "
import torch, time
x = torch.randn(8192, 8192, device='cuda'); t = time.time()
while time.time() - t < 20: x = x @ x; x /= x.norm()
torch.cuda.synchronize()" & L=$!
sleep 12
$M exporter --once > "$OUT/busy.prom"; echo "exit $?"; grep -E "_ratio" "$OUT/busy.prom" | grep -v '^#'
wait $L
echo "=== leftovers"; nvidia-smi --query-compute-apps=pid,name --format=csv,noheader; echo "(none above = none)"
