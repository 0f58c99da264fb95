#!/usr/bin/env bash
# Issue 11's check of `timemachine calibrate`: record the unseeded churn sample (demo), let calibrate
# propose tolerances from RUNS trainings, register the same run again with them, and replay it REPLAYS
# times: how many come back REPRODUCED_* under the proposed tolerances? Prints the count; asserts nothing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-5}
REPLAYS=${REPLAYS:-10}
export TIMEMACHINE_HOME=${BENCH_DIR:-/var/tmp/timemachine-bench-calibrate}/home-$$
unset TEMPORAL_ADDRESS
TM="$ROOT/timemachine"
mkdir -p "$TIMEMACHINE_HOME"
"$TM" demo --sample churn-unseeded >/dev/null 2>&1 || true   # DIVERGED exits 1: expected
SAMPLE=$(ls -d "$TIMEMACHINE_HOME"/demo/*-churn-unseeded | head -1)
MANIFEST="$TIMEMACHINE_HOME/store/models/churn-unseeded/1.json"
read -r REPO COMMIT IMAGE DATA < <(python3 -c "
import json; d=json.load(open('$MANIFEST'))['triplet']
print(d['code']['repositoryUrl'], d['code']['commit'], d['environment']['image'], d['data']['snapshotUri'])")
echo "calibrate churn-unseeded@1 --runs $RUNS"
OUT=$("$TM" calibrate churn-unseeded@1 --runs "$RUNS")
echo "$OUT" | sed 's/^/  /'
read -r -a TOLERANCES <<<"$(echo "$OUT" | sed -n 's/^register again with: //p')"
"$TM" register --model churn-unseeded@2 --repo "$REPO" --commit "$COMMIT" --entry-point "python3 train.py" \
  --image "$IMAGE" --data "$DATA" --output "$SAMPLE/original-output" --probe-set customers.csv "${TOLERANCES[@]}" >/dev/null
ok=0
declare -A verdicts
for i in $(seq 1 "$REPLAYS"); do
  v=$("$TM" replay churn-unseeded@2 --no-probe --no-write-back --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["verdict"])' || true)
  v=${v:-no-report}
  verdicts[$v]=$(( ${verdicts[$v]:-0} + 1 ))
  case "$v" in REPRODUCED_*) ok=$((ok + 1));; esac
done
echo "replays of churn-unseeded@2 under the proposed tolerances: $ok of $REPLAYS reproduced"
for v in "${!verdicts[@]}"; do echo "  $v: ${verdicts[$v]}"; done
