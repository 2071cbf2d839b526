#!/usr/bin/env bash
# Builds migctl and libmigsim.so here with the C++ runtime linked statically, for the GPU machine (Ubuntu 24.04):
#   bash tools/device/build_static.sh     -> build-device/migctl, build-device/libmigsim.so
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build-device -G Ninja -DCMAKE_BUILD_TYPE=Release -DMIGCTL_BUILD_TESTS=OFF -DMIGCTL_STATIC_RUNTIME=ON >/dev/null
ninja -C build-device migctl migsim
