#!/usr/bin/env bash
# One entry point for people and CI on a fresh Debian 12 machine:
#   ./dev.sh demo   install what is missing, build, and run a tour of migctl on simulated GPUs
#   ./dev.sh test   install what is missing, build, and run every test (ctest arguments may follow:
#                   `./dev.sh test -LE slow` leaves out the slow cases)
#   ./dev.sh build  install what is missing and build (into ./build)
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(build-essential cmake ninja-build pkg-config libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libfmt-dev
          libgtest-dev libbenchmark-dev libglpk-dev libltdl-dev python3 python3-pytest python3-cloudpickle python3-torch
          slurmctld slurmd slurm-client munge libcpp-httplib-dev prometheus)
BUILD_DIR=${BUILD_DIR:-build}

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # Slurm's, munge's and Prometheus's packages start and enable their services; the tests run their own daemons
  # on loopback (tests/slurm/cluster.sh, tests/exporter_e2e_test.cc), so keep the packaged ones from starting,
  # now and at boot.
  local guard=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod 755 /usr/sbin/policy-rc.d
    guard=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$guard" = 1 ] && $sudo rm -f /usr/sbin/policy-rc.d
  if command -v systemctl >/dev/null; then $sudo systemctl disable munge slurmd slurmctld prometheus >/dev/null 2>&1 || true; fi
}

build() {
  install_missing
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMIGCTL_BUILD_TESTS=ON >/dev/null
  ninja -C "$BUILD_DIR" -j "$(nproc)"
}

demo() {
  build
  local m="$BUILD_DIR/migctl" state="$BUILD_DIR/demo/dgx.json"
  mkdir -p "$BUILD_DIR/demo" && rm -rf "$state" "$state.lock" "$state.migctl" "$BUILD_DIR/demo/results.jsonl"
  run() { echo; echo "\$ migctl $*"; "$m" "$@"; }
  # The README's simulator tour, in its order.
  run sim init "$state" a100-80gb:4
  run --sim "$state" status -i 0
  run --sim "$state" profiles -i 0
  run --sim "$state" layouts --model h100-80gb --maximal
  run --sim "$state" check --model a100-80gb 4g.40gb 3g.40gb 1g.10gb || true
  run --sim "$state" mode enable -i 0,1
  run --sim "$state" reset -i 0,1
  run --sim "$state" create -i 0 1g.10gb 1g.10gb 2g.20gb 3g.40gb
  run --sim "$state" status -i 0,1
  run --sim "$state" destroy -i 0 --all
  # Make slices for a run, work on them, and remove them again.
  run --sim "$state" run -i 0 --profile 3g.40gb --workers 2 --create --ephemeral -- sh -c 'echo "on $MIGCTL_PROFILE $CUDA_VISIBLE_DEVICES"'
  run --sim "$state" apply -f examples/a100-80gb-x4.yaml -c custom-config --dry-run
  run --sim "$state" apply -f examples/a100-80gb-x4.yaml -c custom-config
  run --sim "$state" assert -f examples/a100-80gb-x4.yaml -c custom-config
  run --sim "$state" apply -f examples/a100-80gb-x4.yaml -c custom-config
  run --sim "$state" checkpoint -o "$BUILD_DIR/demo/state.json"
  run --sim "$state" destroy -i 3 --all
  run --sim "$state" restore "$BUILD_DIR/demo/state.json"
  # Work on the slices: one task per combination, each pinned to its own MIG device, results as JSON lines.
  run --sim "$state" run -i 0 --param lr=1e-3,3e-4 --param seed=1,2 --results "$BUILD_DIR/demo/results.jsonl" -- \
    sh -c 'echo "{\"lr\": \"$1\", \"seed\": $2, \"device\": \"$CUDA_VISIBLE_DEVICES\"}"' task {lr} {seed}
  # Plan layouts for a set of workloads (optimal, explained).
  run plan --fleet a100-80gb:4 --need "30GiB x3, 18GiB x4, 8GiB x10" --explain -o "$BUILD_DIR/demo/planned.yaml"
}

case "${1:-}" in
  demo) demo ;;
  build) build ;;
  test)
    build
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "${@:2}"
    ;;
  *) echo "usage: ./dev.sh demo|test|build" >&2; exit 2 ;;
esac
