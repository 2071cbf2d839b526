#!/usr/bin/env bash
# What `migctl run --slurm` costs beside a hand-written job array that pins its tasks the same way, in the same
# run, alternating: N trivial tasks (/bin/true) on a loopback cluster of 3 simulated H100s, each split into
# 7 x 1g.10gb (21 slices). Both ask for --gres=gpu:1g.10gb:1 per element on the same cluster with the same
# scheduler settings, and both are timed from submission until every element is done.
#   migctl:       migctl run --slurm --profile 1g.10gb --repeat N -- true
#                 (each element: migctl exec --array reads the spool, maps SLURM_JOB_GPUS to the MIG UUID,
#                 takes the slice's lease under a keeper, runs the task, journals its result; the submitter
#                 polls squeue and the spool every 0.5 s and journals every result with --results)
#   hand-written: sbatch --array=1-N a script that maps SLURM_JOB_GPUS to the MIG UUID through the node's map
#                 file (`migctl slurm gres --map`), sets CUDA_VISIBLE_DEVICES and runs true; done when squeue
#                 no longer lists the job (polled every 0.1 s: the baseline is not rounded up by its poll)
#   bash bench/slurm_array.sh [BUILD_DIR] [TASKS] [ROUNDS]      (root; Slurm and munge: ./dev.sh)
set -euo pipefail
BUILD=${1:-build}; N=${2:-1000}; R=${3:-3}
M=$(cd "$BUILD" && pwd)/migctl
SRC=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /tmp/migctl-slurm-bench-XXXXXX)
chmod 755 "$W"  # munged's socket directory below must be reachable by everyone
stop() { MIGCTL=$M bash "$SRC/tests/slurm/cluster.sh" stop "$W/c" >/dev/null 2>&1 || true; rm -rf "$W"; }
trap stop EXIT

mkdir -p "$W/maps"
for k in 1 2 3; do
  n=n$k; S=$W/c/nodes/$n/sim.json
  mkdir -p "$W/c/nodes/$n"
  $M sim init "$S" h100-80gb:1 --seed $((40 + k)) >/dev/null
  $M --sim "$S" mode enable -i 0 >/dev/null
  $M --sim "$S" create -i 0 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb >/dev/null
done
started=$(MIGCTL=$M bash "$SRC/tests/slurm/cluster.sh" start "$W/c")
eval "$started"  # export SLURM_CONF=...
for k in 1 2 3; do
  n=n$k
  $M --sim "$W/c/nodes/$n/sim.json" slurm gres --node $n --root "$W/c/nodes/$n/root" --map "$W/maps/$n.map" >/dev/null
done
cat > "$W/hand.sh" <<EOF
#!/bin/sh
uuid=\$(awk -v i="\$SLURM_JOB_GPUS" '\$1 == i { print \$2 }' "$W/maps/\$SLURMD_NODENAME.map")
[ -n "\$uuid" ] || { echo "no MIG device for GPU \$SLURM_JOB_GPUS" >&2; exit 1; }
export CUDA_VISIBLE_DEVICES=\$uuid
exec true
EOF
mkdir -p "$W/hand"

now() { date +%s.%N; }
run_migctl() {  # $1: round
  local s e
  s=$(now)
  $M run --slurm --profile 1g.10gb --repeat "$N" --spool "$W/spool$1" --results "$W/r$1.jsonl" -- true \
    >/dev/null 2>"$W/migctl$1.err" || { cat "$W/migctl$1.err" >&2; exit 1; }
  e=$(now)
  [ "$(grep -c '"status":"ok"' "$W/r$1.jsonl")" = "$N" ] || { echo "migctl: not every task succeeded" >&2; exit 1; }
  python3 -c "print($e - $s)"
}
run_hand() {  # $1: round
  local s e job
  s=$(now)
  job=$(sbatch --parsable --array=1-"$N" --gres=gpu:1g.10gb:1 --job-name=hand --output="$W/hand/$1-%a.out" \
    "$W/hand.sh")
  while [ -n "$(timeout 5 squeue -h -j "$job" -o %i 2>/dev/null || true)" ]; do sleep 0.1; done
  e=$(now)
  local failed
  failed=$(grep -l . "$W"/hand/"$1"-*.out 2>/dev/null | wc -l)
  [ "$failed" = 0 ] || { echo "hand-written: $failed elements wrote errors" >&2; exit 1; }
  python3 -c "print($e - $s)"
}

declare -A times
for r in $(seq "$R"); do
  if (( r % 2 )); then
    times[hand]+="$(run_hand "$r") "; times[migctl]+="$(run_migctl "$r") "
  else
    times[migctl]+="$(run_migctl "$r") "; times[hand]+="$(run_hand "$r") "
  fi
  echo "round $r: hand-written $(echo "${times[hand]}" | awk '{print $NF}') s, migctl $(echo "${times[migctl]}" | awk '{print $NF}') s" >&2
done
python3 - "$N" "${times[hand]}" "${times[migctl]}" <<'PY'
import statistics, sys
n = int(sys.argv[1])
hand = [float(x) for x in sys.argv[2].split()]
mig = [float(x) for x in sys.argv[3].split()]
print(f"{n} tasks of /bin/true as one job array on 3 nodes x 7 x 1g.10gb, {len(hand)} rounds (alternating)")
print(f"{'':34} {'runs (s)':>28} {'median s':>9} {'per task ms':>12}")
for name, t in (("hand-written sbatch --array", hand), ("migctl run --slurm --results", mig)):
    m = statistics.median(t)
    print(f"{name:34} {' '.join(f'{x:.2f}' for x in t):>28} {m:9.2f} {m / n * 1e3:12.1f}")
print(f"ratio migctl / hand-written (medians): {statistics.median(mig) / statistics.median(hand):.2f}x")
PY
