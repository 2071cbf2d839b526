#!/usr/bin/env bash
# Regression: a fresh clone of the project alone failed `./dev.sh test` because tests read `../shared`, and docs
# sent readers outside the repository. Every path the project names must lie inside it.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='\.\./shared|shared/(reference|data|DESIGN)|MIGCTL_SHARED_DIR'
if hits=$(git ls-files -z | grep -zv '^tests/self_contained.sh$' | xargs -0 grep -nE "$pattern" 2>/dev/null); then
  echo "paths outside the repository:"; echo "$hits"; exit 1
fi
echo "1 passed, 0 failed"
