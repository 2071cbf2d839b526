#!/usr/bin/env bash
# Wall and CPU time of `migctl apply` on a simulated 8-GPU machine, with MIGSIM_LATENCY=realistic (driver-like
# delays per NVML call: GI create 300 ms, GI destroy 150 ms, CI create 100 ms, CI destroy 50 ms, mode change and
# reset 1 s) and without delays (pure CPU cost of migctl plus the simulator). Medians of RUNS runs.
#   bench/apply_timing.sh [build dir] [runs]
set -euo pipefail
BUILD=${1:-build}
RUNS=${2:-3}
M="$BUILD/migctl"
CONFIG=examples/a100-80gb-x4.yaml
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
TIMEFORMAT='%R %U %S'

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# step MODEL LATENCY FROM TO: wall/user/sys of applying TO after FROM, RUNS times.
step() {
  local model=$1 latency=$2 from=$3 to=$4 walls=() cpus=()
  for _ in $(seq "$RUNS"); do
    rm -rf "$TMP"/m.json*
    "$M" sim init "$TMP/m.json" "$model:8" >/dev/null
    [ "$from" = off ] || MIGSIM_LATENCY= "$M" --sim "$TMP/m.json" apply -f "$CONFIG" -c "$from" >/dev/null
    local t
    t=$( { time MIGSIM_LATENCY=$latency "$M" --sim "$TMP/m.json" apply -f "$CONFIG" -c "$to" >/dev/null; } 2>&1 )
    read -r wall user sys <<<"$t"
    walls+=("$wall")
    cpus+=("$(echo "$user + $sys" | bc)")
  done
  printf '| %s | %s | %s → %s | %s | %s |\n' "$model" "${latency:-none}" "$from" "$to" \
    "$(printf '%s\n' "${walls[@]}" | median)" "$(printf '%s\n' "${cpus[@]}" | median)"
}

echo "| model x8 | MIGSIM_LATENCY | transition | wall s (median) | CPU s user+sys (median) |"
echo "|---|---|---|---|---|"
for model in a100-80gb h100-80gb; do
  for latency in realistic ""; do
    step "$model" "$latency" off all-1g.10gb
    step "$model" "$latency" all-1g.10gb all-3g.40gb
    step "$model" "$latency" all-3g.40gb custom-config
    step "$model" "$latency" custom-config custom-config
  done
done
