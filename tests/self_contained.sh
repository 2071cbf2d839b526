#!/usr/bin/env bash
# Regression: a fresh clone of the project alone failed `./dev.sh test`, because tests read the sibling folder
# of project notes beside the clone, and docs sent readers there. Every path the project names lies inside it.
set -euo pipefail
cd "$(dirname "$0")/.."
# The sibling folder's name, assembled so that this file does not match its own search.
sibling="sha""red"
pattern="\.\./${sibling}|${sibling}/(reference|data|DESIGN)|MIGCTL_${sibling^^}_DIR"
if hits=$(git ls-files -z | grep -zv '^tests/self_contained.sh$' | xargs -0 grep -nE "$pattern" 2>/dev/null); then
  echo "paths outside the repository:"; echo "$hits"; exit 1
fi
echo "1 passed, 0 failed"
