#!/usr/bin/env bash
# `migctl plan --fleet current` on the real GPU (read-only: the plan's apply runs with --dry-run only).
#   MIGCTL_BIN_DIR=build-dev-bin bash tools/device/run_plan.sh
set -uo pipefail
M=$PWD/${MIGCTL_BIN_DIR:-build-device}/migctl
$M plan --fleet current --need "30GiB x2, 18GiB x2, 8GiB x3" --explain -o /tmp/planned.yaml; echo "exit $?"
$M plan --fleet current --need "30GiB x2, 18GiB x2, 8GiB x3" --objective keep-current --json | head -c 600; echo; echo "exit $?"
$M plan --fleet current --need "200GiB, 30GiB x9"; echo "exit $?"
$M apply -f /tmp/planned.yaml -c planned --dry-run; echo "exit $?"
nvidia-smi --query-gpu=mig.mode.current,mig.mode.pending --format=csv
