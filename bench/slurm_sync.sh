#!/usr/bin/env bash
# How long `migctl slurm sync` takes a node out of Slurm after a layout change: seconds from the call until the
# node takes jobs again (sync's own `seconds_to_jobs`, measured when slurmctld reports the node with its new
# GRES and it answers), on a loopback cluster of 3 simulated H100s (tests/slurm/cluster.sh). Each round
# changes n1 between 3 x 1g.10gb + 3g.40gb and 7 x 1g.10gb (new counts: slurmctld and n1's slurmd restart),
# then to a layout with the same counts (one 1g.10gb moved from n1's GPU 0 to its GPU 1: other device files and
# UUID, so gres.conf changes and `scontrol reconfigure` suffices);
# after each, a `srun --gres` on n1 checks that a job lands on the new layout.
#   bash bench/slurm_sync.sh [BUILD_DIR] [ROUNDS]      (root; Slurm and munge: ./dev.sh)
set -euo pipefail
BUILD=${1:-build}; R=${2:-5}
M=$(cd "$BUILD" && pwd)/migctl
SRC=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /tmp/migctl-sync-bench-XXXXXX)
chmod 755 "$W"
stop() { MIGCTL=$M bash "$SRC/tests/slurm/cluster.sh" stop "$W/c" >/dev/null 2>&1 || true; rm -rf "$W"; }
trap stop EXIT

for k in 1 2 3; do
  S=$W/c/nodes/n$k/sim.json
  mkdir -p "$W/c/nodes/n$k"
  $M sim init "$S" h100-80gb:2 --seed $((60 + k)) >/dev/null
  $M --sim "$S" mode enable -i 0,1 >/dev/null
  $M --sim "$S" create -i 0 1g.10gb 1g.10gb 1g.10gb 3g.40gb >/dev/null
done
eval "$(MIGCTL=$M bash "$SRC/tests/slurm/cluster.sh" start "$W/c")"
S1=$W/c/nodes/n1/sim.json
sync_n1() {  # prints seconds_to_jobs
  $M --sim "$S1" --json slurm sync --node n1 --root "$W/c/nodes/n1/root" --slurm-conf "$SLURM_CONF" \
    --restart-ctld "bash $SRC/tests/slurm/cluster.sh restart-ctld $W/c" \
    --restart-slurmd "bash $SRC/tests/slurm/cluster.sh restart-slurmd $W/c n1" > "$W/sync.json"
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['action'], d['seconds_to_jobs'])" "$W/sync.json"
}
relayout() { $M --sim "$S1" destroy -i 0,1 --all >/dev/null; $M --sim "$S1" create -i 0 "$@" >/dev/null; }
check_job() {  # $1: a type n1 has now
  srun -w n1 --gres=gpu:"$1":1 "$M" exec -- true || { echo "no job landed on n1's $1" >&2; exit 1; }
}
restart=() reconfigure=()
for r in $(seq "$R"); do
  if (( r % 2 )); then relayout 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb; t=1g.10gb
  else relayout 1g.10gb 1g.10gb 1g.10gb 3g.40gb; t=3g.40gb; fi
  read -r action s <<< "$(sync_n1)"; [ "$action" = restart ] || { echo "expected a restart, got $action" >&2; exit 1; }
  check_job "$t"; restart+=("$s"); cp "$W/sync.json" "$W/last-restart.json"
  # Same counts: one 1g.10gb moves from GPU 0 to GPU 1 (another UUID and other capability files).
  gi=$($M --sim "$S1" --json status -i 0 | python3 -c "import json,sys; d=json.load(sys.stdin); print([i['gi'] for i in d['gpus'][0]['instances'] if i['profile']=='1g.10gb'][0])")
  $M --sim "$S1" destroy -i 0 --gi "$gi" >/dev/null; $M --sim "$S1" create -i 1 1g.10gb >/dev/null
  read -r action s <<< "$(sync_n1)"; [ "$action" = reconfigure ] || { echo "expected a reconfigure, got $action" >&2; exit 1; }
  check_job 1g.10gb; reconfigure+=("$s")
  echo "round $r: new counts ${restart[-1]} s, same counts ${reconfigure[-1]} s" >&2
done
python3 - "${restart[*]}" "${reconfigure[*]}" "$W/last-restart.json" <<'PY'
import json, statistics, sys
print("last new-counts sync, seconds each step took:")
for step in json.load(open(sys.argv[3]))["done"]:
    print(f"  {step['seconds']:6.2f}  {step['what']}")
for name, text in (("new counts (restart slurmctld, then slurmd)", sys.argv[1]), ("same counts (scontrol reconfigure)", sys.argv[2])):
    xs = [float(x) for x in text.split()]
    print(f"{name}: median {statistics.median(xs):.2f} s to take jobs again (min {min(xs):.2f}, max {max(xs):.2f}, {len(xs)} rounds)")
PY
