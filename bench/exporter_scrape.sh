#!/usr/bin/env bash
# One look of `migctl exporter` at a simulated 8 x H100, each cut into 7 x 1g.10gb (56 MIG devices, GPM per
# GPU instance), against the NVML floor of the same calls (tools/device/exporter_floor.c, through libmigsim),
# both a look every 100 ms, floor / migctl / floor in one run. Medians.
#   bash bench/exporter_scrape.sh [BUILD_DIR]        (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
M=$B/migctl
$M sim init "$W/m.json" h100-80gb:8 >/dev/null
$M --sim "$W/m.json" mode enable -i all >/dev/null
$M --sim "$W/m.json" create -i all 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb >/dev/null
gcc -O2 -Isrc tools/device/exporter_floor.c -o "$W/floor" -ldl
MIGSIM_STATE="$W/m.json" "$W/floor" "$B/libmigsim.so" 100 100
mkdir -m 0700 "$W/text"
$M --sim "$W/m.json" exporter --textfile "$W/text" --interval 0.1 2>/dev/null & E=$!
sleep 1; : > "$W/looks"
for _ in $(seq 1 60); do sleep 0.11; awk '/^migctl_exporter_collect_seconds/ {print $2}' "$W/text/migctl.prom" >> "$W/looks"; done
kill $E; wait $E 2>/dev/null || true
sort -n "$W/looks" | awk '{a[NR]=$1} END {printf "migctl look: median %.3f ms, min %.3f ms, of %d readings\n", a[int((NR+1)/2)]*1000, a[1]*1000, NR}'
MIGSIM_STATE="$W/m.json" "$W/floor" "$B/libmigsim.so" 100 100
grep -c '^migctl_' "$W/text/migctl.prom" | sed 's/^/series in one scrape: /'
