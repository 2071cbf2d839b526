#!/usr/bin/env bash
# Issue 10 on the real GPU, read-only: the one file-writing path (O_TMPFILE, explicit modes under umask 000),
# private directories and leases on Ubuntu's /run and /tmp, and the conductor's dry runs through real NVML.
# Nothing here changes MIG mode or instances: apply/restore run with --dry-run, assert only reads.
#   MIGCTL_BIN_DIR=build-device bash tools/device/check_safety.sh   (results under $OUT, or /tmp/migctl-safety)
set -uo pipefail
M=$PWD/${MIGCTL_BIN_DIR:-build-device}/migctl
O=${OUT:-/tmp/migctl-safety}
mkdir -p "$O"
step() { echo; echo "\$ $*"; "$@"; echo "exit $?"; }
echo "uid $(id -u); kernel $(uname -r); /tmp on $(stat -f -c %T /tmp); $O on $(stat -f -c %T "$O")"
step "$M" status
step "$M" checkpoint -o "$O/before.json"
(umask 000; step "$M" checkpoint -o "$O/umask000.json")
stat -c '%a %U %n' "$O/before.json" "$O/umask000.json"
echo "temporary files left: $(find "$O" -name '*migctl-tmp*' | wc -l)"
printf 'version: v1\nmig-configs:\n  all-disabled:\n    - devices: all\n      mig-enabled: false\n' > "$O/off.yaml"
step "$M" assert -f "$O/off.yaml" -c all-disabled
step "$M" apply -f "$O/off.yaml" -c all-disabled --dry-run
step "$M" restore "$O/before.json" --dry-run
step "$M" restore /dev/zero
step "$M" apply -f /tmp -c x
ln -sf /etc/hostname "$O/link.json"
step "$M" checkpoint -o "$O/link.json"
step "$M" run --share none --workers 1 --results "$O/results.jsonl" -- nvidia-smi -L
stat -c '%a %U %n' /run/migctl /run/migctl/leases "$O/results.jsonl" 2>&1
step "$M" run --lock-timeout nan -- true
nvidia-smi --query-gpu=mig.mode.current,mig.mode.pending --format=csv
