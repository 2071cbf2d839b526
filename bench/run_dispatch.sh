#!/usr/bin/env bash
# Dispatch overhead of `migctl run` beside xargs -P and GNU parallel, in the same run: N trivial tasks
# (/bin/true) on 7 workers. migctl runs on a simulated H100 split into 7 x 1g.10gb, so every task also takes a
# device lease, gets its CUDA_VISIBLE_DEVICES, and has its stdout read and its result recorded.
#   bash bench/run_dispatch.sh [BUILD_DIR] [TASKS] [REPEATS]       (apt-get install parallel first)
set -euo pipefail
BUILD=${1:-build}; N=${2:-10000}; R=${3:-5}
M=$(cd "$BUILD" && pwd)/migctl
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
S=$W/h100.json
$M sim init $S h100-80gb:1 >/dev/null
$M --sim $S mode enable -i 0 >/dev/null
$M --sim $S create -i 0 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb >/dev/null
seq $N > $W/args
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); python3 -c "print($e - $s)"; }
declare -A times
for r in $(seq $R); do
  times[xargs]+="$(t sh -c "xargs -P 7 -n 1 true < $W/args") "
  times[parallel]+="$(t sh -c "parallel --will-cite -j 7 true < $W/args") "
  times[migctl]+="$(t $M --sim $S run --repeat $N -- true) "
  times[migctl_results]+="$(t $M --sim $S run --repeat $N --results $W/r$r.jsonl -- true) "
done
python3 - "$N" "${times[xargs]}" "${times[parallel]}" "${times[migctl]}" "${times[migctl_results]}" <<'PY'
import statistics, sys
n = int(sys.argv[1])
names = ["xargs -P 7", "GNU parallel -j 7", "migctl run (7 MIG workers)", "migctl run --results FILE"]
med = {k: statistics.median(map(float, v.split())) for k, v in zip(names, sys.argv[2:])}
base = med["xargs -P 7"]
print(f"{n} tasks of /bin/true on 7 workers, median of {len(sys.argv[2].split())} runs")
print(f"{'':28} {'wall s':>8} {'per task us':>12} {'vs xargs':>9}")
for k, v in med.items():
    print(f"{k:28} {v:8.2f} {v / n * 1e6:12.0f} {v / base:8.2f}x")
PY
