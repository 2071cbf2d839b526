#!/usr/bin/env bash
# Issue 11 on the GPU machine (MIG stays off; nothing but our own processes is started or signalled): how task
# trees are tracked on this host, and that a task whose work goes on in a new session after its first process
# returned keeps its slot until that work ends, while a second run waits; a SIGKILLed migctl leaves nothing.
#   bash tools/device/build_static.sh && mkdir -p build-dev-bin && cp build-device/{migctl,libmigsim.so} build-dev-bin/
#   MIGCTL_BIN_DIR=build-dev-bin bash tools/device/check_keeper.sh      (on the GPU machine; results in $OUT)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
M=$PWD/${MIGCTL_BIN_DIR:-build-dev-bin}/migctl
W=$(mktemp -d); export MIGCTL_LEASE_DIR=$W/leases
now() { date +%s.%N; }
uname -r; grep -E 'cgroup' /proc/self/mountinfo | awk '{print $5, $9}'; cat /proc/self/cgroup
echo "=== run --help: the mechanism on this host"; $M run --help | grep "Task trees on this host"

# The task: python starts the GPU work in a new session with no descriptor of its own, then returns at once.
cat > "$W/task.py" <<'PY'
import subprocess, sys
subprocess.Popen([sys.executable, "-c", """
import os, sys, time, torch
t0 = time.time(); x = torch.randn(4096, 4096, device="cuda")
while time.time() - t0 < 6: x = x @ x; x /= x.norm()
torch.cuda.synchronize()
open(sys.argv[1], "a").write(f"work {os.getpid()} {t0:.3f} {time.time():.3f}\\n")
""", sys.argv[1]], close_fds=True, start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
PY
echo "=== a Popen-and-return task, then a second run on the same slot"
t0=$(now)
$M run --share none --workers 1 --json -- python3 "$W/task.py" "$W/work.log" > "$OUT/first.jsonl" 2> "$OUT/first.err" &
sleep 2
$M run --share none --workers 1 --json -- python3 -c "import time; print('{\"second_started\": %.3f}' % time.time())" \
  > "$OUT/second.jsonl" 2> "$OUT/second.err"
wait
echo "first: $(tail -1 "$OUT/first.jsonl")"; echo "second: $(head -1 "$OUT/second.jsonl")"
grep -h "waits for" "$OUT/second.err"; cat "$W/work.log"
python3 - "$W/work.log" "$OUT/second.jsonl" <<'PY'
import json, sys
work = [l.split() for l in open(sys.argv[1])]
second = json.loads(open(sys.argv[2]).readline())["output"]["second_started"]
end = max(float(w[3]) for w in work)
print(f"RESULT popen_task work_end={end:.3f} second_start={second:.3f} overlap={'yes' if second < end else 'no'}")
PY

echo "=== SIGKILL of migctl while its task's work runs in a new session"
$M run --share none --workers 1 --grace 2 -- python3 "$W/task.py" "$W/killed.log" > /dev/null 2> "$OUT/killed.err" &
MP=$!; sleep 3; ps -o pid,ppid,sid,comm --ppid $MP; kill -9 $MP; t_kill=$(now)
sleep 4
left=$(pgrep -f "$W/killed.log" | wc -l)
echo "RESULT sigkill processes_left_after_4s=$left (grace 2 s); lease files: $(ls $MIGCTL_LEASE_DIR)"
nvidia-smi --query-compute-apps=pid,name --format=csv
rm -rf "$W"
