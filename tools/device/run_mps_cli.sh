#!/usr/bin/env bash
# `migctl mps start|status|stop` and `migctl run` checks against the real MPS control daemon and the real GPU
# (MIG stays off; the daemon is ours and quit at the end), plus read-only export/assert/dry-runs.
#   MIGCTL_BIN_DIR=build-dev-bin bash tools/device/run_mps_cli.sh
set -uo pipefail
M=$PWD/${MIGCTL_BIN_DIR:-build-device}/migctl
export MIGCTL_MPS_DIR=$(mktemp -d)/mps
echo "=== mps start";  $M mps start -i 0; echo "exit $?"
echo "=== mps start again (refused)"; $M mps start -i 0; echo "exit $?"
echo "=== a CUDA client through it"
CUDA_MPS_PIPE_DIRECTORY=$MIGCTL_MPS_DIR/pipe CUDA_MPS_LOG_DIRECTORY=$MIGCTL_MPS_DIR/log \
  python3 -c "import torch; x=torch.ones(1000,1000,device='cuda'); print('client ok', float((x@x).sum()))" 2>&1 | tail -1
echo "=== mps status --json"; $M mps status --json; echo "exit $?"
echo "=== run --share mps while our detached daemon serves the GPU (want: refused, names its server)"
$M run --share mps --workers 2 --repeat 2 -- true; echo "exit $?"
echo "=== mps stop"; $M mps stop; echo "exit $?"
echo "=== mps stop again"; $M mps stop; echo "exit $?"
pgrep -a nvidia-cuda-mps || echo "no MPS process left"
echo "=== run: errors and dry runs on the real GPU (MIG off)"
$M run --repeat 2 -- true; echo "exit $?"
$M run --profile 3g.40gb --workers 3 --create --dry-run -- true; echo "exit $?"
$M run --share none --workers 3 --param x=1,2,3 --dry-run -- echo {x}; echo "exit $?"
echo "=== a task sees its GPU through torch (CUDA_VISIBLE_DEVICES = GPU UUID)"
$M run --share none --workers 2 --repeat 2 -- python3 -c "import torch,json,os; print(json.dumps({'n': torch.cuda.device_count(), 'name': torch.cuda.get_device_name(0), 'env': os.environ['CUDA_VISIBLE_DEVICES']}))"; echo "exit $?"
echo "=== read-only: export, assert, apply --dry-run (issue 3)"
$M export; echo "exit $?"
$M export > /tmp/current.yaml; $M assert -f /tmp/current.yaml -c current; echo "exit $?"
$M apply -f examples/a100-80gb-x4.yaml -c all-disabled --dry-run; echo "exit $?"
