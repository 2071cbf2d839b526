#!/usr/bin/env bash
# Everything issue 2 asks of the GPU machine, in one call (read-only on the real GPU: no MIG mode change, no
# instances, no reset). Expects the static build in build-device/ (tools/device/build_static.sh) and writes what it
# saw to $OUT. Usage on the device:  bash tools/device/run_all.sh
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
M=build-device/migctl
log() { echo; echo "=== $*"; }

log "machine"; nvidia-smi --query-gpu=name,driver_version,mig.mode.current,mig.mode.pending --format=csv
log "ABI check of src/nvml/nvml_abi.h against the real nvml.h"; bash tools/device/abi_check.sh 2>&1 | tail -25
log "migctl status (real libnvidia-ml.so.1)"; $M status; $M status --json > "$OUT/real_status.json"; echo "exit $?"
log "migctl profiles -i 0"; $M profiles -i 0; $M profiles -i 0 --json > "$OUT/real_profiles.json"
model=$(python3 -c "import json;print(json.load(open('$OUT/real_status.json'))['gpus'][0]['model'])")
$M profiles --model "$model" --json > "$OUT/catalog_profiles.json"
log "real profiles == built-in $model (which the unit tests prove equal to the recordings)"
python3 - "$OUT/real_profiles.json" "$OUT/catalog_profiles.json" <<'PY'
import json, sys
real = json.load(open(sys.argv[1]))["gpus"][0]["profiles"]
cat = json.load(open(sys.argv[2]))["profiles"]
strip = lambda ps: [{k: v for k, v in p.items() if k != "instances"} | {"total": p["instances"]["total"]} for p in ps]
a, b = strip(real), strip(cat)
print("profiles:", len(a), "real,", len(b), "catalog;", "IDENTICAL" if a == b else "DIFFERENT")
for x, y in zip(a, b):
    if x != y: print(" real", x, "\n  cat", y)
PY
log "nvidia-ml-py against libmigsim.so (simulated H100)"
S=/tmp/migsim/h100.json; rm -rf /tmp/migsim; mkdir -p /tmp/migsim/lib
ln -s "$PWD/build-device/libmigsim.so" /tmp/migsim/lib/libnvidia-ml.so.1
$M sim init $S h100-80gb:1 --seed 7 >/dev/null && $M --sim $S mode enable -i 0 &&
  $M --sim $S create -i 0 1g.20gb 3g.40gb 2g.20gb && $M --sim $S status --json > "$OUT/sim_status.json"
LD_LIBRARY_PATH=/tmp/migsim/lib MIGSIM_STATE=$S python3 tools/device/pynvml_on_sim.py "$OUT/sim_status.json" 2>&1 | tee "$OUT/pynvml.txt" | tail -40
log "timing: migctl status --json vs nvidia-smi -L vs bare NVML (dlopen+init+enumerate)"
gcc -O2 -Isrc tools/device/nvml_floor.c -o /tmp/nvml_floor -ldl && /tmp/nvml_floor
python3 tools/device/time_commands.py 30 "nvml-floor=/tmp/nvml_floor" "nvidia-smi -L=nvidia-smi -L" \
  "migctl status --json=$M status --json" "migctl profiles --json=$M profiles --json" | tee "$OUT/timing.txt"
