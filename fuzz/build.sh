#!/bin/sh
# Builds the spec/ config-parser fuzzer with libFuzzer, AddressSanitizer and UBSan (Debian's clang; yaml-cpp is
# the system library, built with GCC against libstdc++ like clang here, so it links but is not instrumented).
# Usage: fuzz/build.sh [OUTPUT_DIR]   (default build-fuzz; the binary is OUTPUT_DIR/spec_fuzzer)
set -eu
cd "$(dirname "$0")/.."
out=${1:-build-fuzz}
mkdir -p "$out"
${CXX:-clang++} -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -DFMT_HEADER_ONLY=1 -Isrc \
  fuzz/spec_fuzzer.cc \
  src/spec/config.cc src/spec/device_filter.cc src/spec/device_match.cc src/spec/profile_name.cc \
  src/spec/quote.cc src/common/error.cc src/common/gpu_selector.cc \
  -lyaml-cpp -o "$out/spec_fuzzer"
echo "built $out/spec_fuzzer"
