#!/usr/bin/env bash
# One `migctl reshape` on a simulated 8 x H100 under MIGSIM_LATENCY=realistic (GI create 300 ms, GI destroy
# 150 ms, CI create 100 ms, CI destroy 50 ms): every GPU runs 7 x 1g.10gb, the first of them busy (a process
# attached), and the demand is one 3g.40gb per GPU, so each GPU re-cuts the half without its busy slice.
#   bash bench/reshape_driver.sh [BUILD_DIR] [REPEATS]
set -euo pipefail
M=$(cd "${1:-build}" && pwd)/migctl; R=${2:-3}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
for r in $(seq "$R"); do
  S=$W/h100-$r.json
  $M sim init "$S" h100-80gb:8 >/dev/null
  $M --sim "$S" mode enable -i all >/dev/null
  for g in 0 1 2 3 4 5 6 7; do
    $M --sim "$S" create -i $g 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb >/dev/null
    gi=$($M --sim "$S" --json status -i $g | python3 -c "import json,sys; print(json.load(sys.stdin)['gpus'][0]['instances'][0]['gi'])")
    $M --sim "$S" sim attach -i $g --gi "$gi" --ci 0 >/dev/null
  done
  s=$(date +%s.%N)
  out=$(MIGSIM_LATENCY=realistic $M --sim "$S" --json reshape --demand "3g.40gb:8")
  e=$(date +%s.%N)
  echo "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); w=$e-$s; print('served %d/8, GIs destroyed %d, created %d, wall %.2f s' % (d['served'], d['destroyed'], d['created'], w))"
done
