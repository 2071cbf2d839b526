#!/usr/bin/env bash
# Checks src/nvml/nvml_abi.h against the real nvml.h: struct sizes, field offsets, constants, entry-point signatures.
# Run on the GPU machine (needs CUDA's nvml.h and gcc). Prints one summary line per struct / constant group, then
# "ABI OK" or every mismatch; exits non-zero on a mismatch or a compile error.
#
#   tools/device/abi_check.sh             look for nvml.h under $CUDA_HOME/include, /usr/local/cuda/include,
#                                         $(dirname $(which nvcc))/../include, /usr/include
#   tools/device/abi_check.sh DIR         use DIR/nvml.h
#   tools/device/abi_check.sh --selftest  use a copy of our own header as nvml.h (proves the check builds and runs
#                                         where no NVIDIA header is installed)
set -euo pipefail

defines=()

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source_file="$repo/tools/device/nvml_abi_check.c"
ours="$repo/src/nvml/nvml_abi.h"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

find_include_dir() {
  local candidates=()
  [[ -n "${CUDA_HOME:-}" ]] && candidates+=("$CUDA_HOME/include")
  candidates+=(/usr/local/cuda/include)
  if command -v nvcc >/dev/null 2>&1; then candidates+=("$(dirname "$(command -v nvcc)")/../include"); fi
  candidates+=(/usr/include)
  local dir
  for dir in "${candidates[@]}"; do
    if [[ -f "$dir/nvml.h" ]]; then
      echo "$dir"
      return 0
    fi
  done
  echo "abi_check: nvml.h not found in: ${candidates[*]}; pass its directory as the argument" >&2
  return 1
}

case "${1:-}" in
  --selftest)
    include_dir="$work/selftest"
    mkdir -p "$include_dir"
    cp "$ours" "$include_dir/nvml.h"
    defines=(-DMIGCTL_ABI_SELFTEST)
    echo "selftest: our own header stands in for nvml.h"
    ;;
  "") include_dir="$(find_include_dir)" ;;
  *) include_dir="$1" ;;
esac
[[ -f "$include_dir/nvml.h" ]] || { echo "abi_check: no nvml.h in $include_dir" >&2; exit 2; }
version="$(grep -m1 -o 'NVML_API_VERSION_STR *"[^"]*"' "$include_dir/nvml.h" || true)"
echo "nvml.h: $include_dir/nvml.h ${version}"

# Every constant our header defines must be covered by the check.
missing=0
for name in $(grep -oE '^#define (NVML_[A-Z0-9_]+|nvml[A-Za-z0-9_]+) ' "$ours" | awk '{print $2}'); do
  [[ "$name" == NVML_STRUCT_VERSION ]] && continue
  if ! grep -q "X($name)" "$source_file"; then
    echo "abi_check: $name is defined in nvml_abi.h but not checked in nvml_abi_check.c" >&2
    missing=1
  fi
done
[[ $missing == 0 ]] || exit 2

gcc -std=c11 "${defines[@]}" -Wall -Wextra -Werror -Wno-deprecated-declarations -I "$repo/src" -I "$include_dir" \
  -o "$work/nvml_abi_check" "$source_file"
"$work/nvml_abi_check"
