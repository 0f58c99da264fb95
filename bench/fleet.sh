#!/usr/bin/env bash
# bench/fleet.sh — what the nightly fleet costs per model on top of the training itself, against the
# real Temporal dev server with one control worker and 2 training workers (separate processes, task
# queues of this run's own, so nobody else's work is taken or disturbed).
#
#   bench/fleet.sh                        # N=40 models per concurrency (a few minutes on 2 cores)
#   N=200 CONCURRENCY="1 4" bench/fleet.sh
#
# Each model version is a trivial training (train.py hashes one small file: a few ms of work) in the
# shared sample image, all with the same commit and snapshot. One version is registered with
# `timemachine register`; the others are copies of its record under new names (what N registrations of
# the same run would write, without N JVM starts). Every concurrency gets its own fresh set of names,
# so no replay is reused from an earlier run of the same night.
#
# Prints, per concurrency: wall / N (the fleet workflow's own duration, from its summary), the sum of
# the train steps (from the reports' durationsMs: container create, start, the few ms of training,
# output collection), the orchestration overhead per model = (wall - sum of train) / N as issue 12
# defines it (it goes negative above concurrency 1, where training steps overlap), what each replay
# spends outside its train step (non-train/rep: resolve, materialize = checkout + image check + restore,
# compare; each step's time includes its task's pick-up by a worker), the mean time per step, and the Temporal history of the fleet run (all its runs,
# continue-as-new included) and of its child replays (events, bytes). Asserts nothing about time.
#
# Needs scripts/services.sh up (Docker, the registry with the sample image, the Temporal dev server).
# State lives in BENCH_DIR (default /var/tmp/timemachine-bench-fleet).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=${BENCH_DIR:-/var/tmp/timemachine-bench-fleet}
N=${N:-40}
CONCURRENCY=${CONCURRENCY:-"1 4"}
ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
TEMPORAL=${TEMPORAL_CLI:-$HOME/.cache/timemachine/bin/temporal}
TM=$ROOT/timemachine
RUN=$(date +%m%d%H%M%S)
export TIMEMACHINE_HOME=$BENCH/home
export TEMPORAL_ADDRESS=$ADDRESS
export TIMEMACHINE_CONTROL_QUEUE=bench-fleet-control-$RUN
export TIMEMACHINE_TRAINING_QUEUE=bench-fleet-training-$RUN
mkdir -p "$BENCH/logs"
say() { echo "bench: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[ -x "$TEMPORAL" ] || die "no Temporal CLI at $TEMPORAL (scripts/temporal.sh up builds it)"
"$TEMPORAL" operator namespace describe --address "$ADDRESS" --namespace default >/dev/null 2>&1 \
  || die "the Temporal dev server is not answering on $ADDRESS: scripts/services.sh up"
curl -fsS http://127.0.0.1:5000/v2/ >/dev/null || die "the image registry on 127.0.0.1:5000 is down: scripts/services.sh up"
"$TM" --version >/dev/null

# ---------- the trivial model (once per BENCH_DIR) ----------
PROJECT=$BENCH/project
if [ ! -d "$PROJECT/.git" ]; then
  mkdir -p "$PROJECT" "$BENCH/data" "$BENCH/original"
  cat >"$PROJECT/train.py" <<'PY'
import hashlib, json, os
data = os.environ.get("TIMEMACHINE_DATA", "data")
out = os.environ.get("TIMEMACHINE_OUTPUT", "out")
digest = hashlib.sha256(open(os.path.join(data, "x.csv"), "rb").read()).hexdigest()
with open(os.path.join(out, "model.bin"), "w") as f:
    f.write(digest + "\n")
with open(os.path.join(out, "metrics.json"), "w") as f:
    json.dump({"accuracy": 1.0}, f)
PY
  printf 'a,b\n1,2\n3,4\n' >"$BENCH/data/x.csv"
  git -C "$PROJECT" init -q -b main && git -C "$PROJECT" add train.py
  git -C "$PROJECT" -c user.name=bench -c user.email=bench@localhost commit -q -m "trivial training"
  TIMEMACHINE_DATA=$BENCH/data TIMEMACHINE_OUTPUT=$BENCH/original python3 "$PROJECT/train.py"
fi
TEMPLATE=$TIMEMACHINE_HOME/store/models/bench-template/1.json
if [ ! -f "$TEMPLATE" ]; then
  DIGEST=$(curl -fsSI -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
    http://127.0.0.1:5000/v2/timemachine/churn-env/manifests/bookworm | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
  [ -n "$DIGEST" ] || die "the sample image is not in the registry: scripts/services.sh up"
  say "registering the template version (timemachine register)"
  "$TM" register --model bench-template@1 --repo "file://$PROJECT" --commit "$(git -C "$PROJECT" rev-parse HEAD)" \
    --entry-point "python3 train.py" --image "127.0.0.1:5000/timemachine/churn-env@$DIGEST" --data "$BENCH/data" \
    --output "$BENCH/original" >/dev/null 2>"$BENCH/logs/register.err" || { tail -5 "$BENCH/logs/register.err"; exit 1; }
fi

clone() { # prefix count: copies of the template as <prefix>-0001@1 ...
  python3 - "$TEMPLATE" "$TIMEMACHINE_HOME/store/models" "$1" "$2" <<'PY'
import json, os, sys
template, models, prefix, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
record = json.load(open(template))
for i in range(1, n + 1):
    name = "%s-%04d" % (prefix, i)
    record["model"]["name"] = name
    os.makedirs(os.path.join(models, name), exist_ok=True)
    with open(os.path.join(models, name, "1.json"), "w") as f:
        json.dump(record, f)
PY
}

# ---------- workers: 1 control, 2 training, stopped by their pids on exit ----------
PIDS=()
stop() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop EXIT
start_worker() { # name queues [env...]
  local name=$1 queues=$2; shift 2
  env "$@" TIMEMACHINE_CDS=0 "$TM" worker --queues "$queues" --unsigned --metrics-port 0 >"$BENCH/logs/$name.log" 2>&1 &
  PIDS+=($!)
}
start_worker control control
start_worker training-1 training TIMEMACHINE_WORKER_ID=bench-t1-$RUN TIMEMACHINE_WORK_DIR=$BENCH/work-1
start_worker training-2 training TIMEMACHINE_WORKER_ID=bench-t2-$RUN TIMEMACHINE_WORK_DIR=$BENCH/work-2
for log in control training-1 training-2; do
  for _ in $(seq 120); do grep -q "serving" "$BENCH/logs/$log.log" 2>/dev/null && break; sleep 0.5; done
  grep -q "serving" "$BENCH/logs/$log.log" || { tail -5 "$BENCH/logs/$log.log"; die "worker $log did not start"; }
done
say "workers up (queues $TIMEMACHINE_CONTROL_QUEUE, $TIMEMACHINE_TRAINING_QUEUE); N=$N, concurrency: $CONCURRENCY"

# ---------- one fleet per concurrency ----------
printf '\n%-5s %-5s %-8s %-9s %-12s %-13s %-14s %-11s %-22s %-18s\n' "conc" "N" "wall s" "wall/N s" "sum train s" "overhead/N s" "non-train/rep" "verdicts" "fleet history" "replay history" | tee "$BENCH/results-$RUN.txt"
for c in $CONCURRENCY; do
  prefix=bf$RUN-c$c
  clone "$prefix" "$N"
  start=$(date +%s.%N)
  "$TM" fleet run "$prefix-*@1" --name "$prefix" --concurrency "$c" --no-write-back --json \
    >"$BENCH/logs/$prefix.json" 2>"$BENCH/logs/$prefix.err" || true
  end=$(date +%s.%N)
  grep -q '"fleetId"' "$BENCH/logs/$prefix.json" || { tail -5 "$BENCH/logs/$prefix.err"; die "fleet $prefix wrote no summary"; }
  wf=$(grep -o '(workflow [^,]*' "$BENCH/logs/$prefix.err" | head -1 | cut -d' ' -f2)
  "$TEMPORAL" workflow list --address "$ADDRESS" --query "WorkflowId = '$wf'" -o json >"$BENCH/logs/$prefix-fleet-history.json"
  "$TEMPORAL" workflow list --address "$ADDRESS" --query "WorkflowId STARTS_WITH 'replay-$prefix-'" -o json --limit 100000 \
    >"$BENCH/logs/$prefix-replay-history.json"
  python3 - "$BENCH/logs/$prefix.json" "$BENCH/logs/$prefix-fleet-history.json" "$BENCH/logs/$prefix-replay-history.json" \
    "$start" "$end" "$c" "$N" "$BENCH/results-$RUN.txt" <<'PY'
import json, sys, urllib.parse
summary = json.load(open(sys.argv[1]))
fleet_runs = json.load(open(sys.argv[2]))
replays = json.load(open(sys.argv[3]))
cli_wall = float(sys.argv[5]) - float(sys.argv[4])
c, n, results = int(sys.argv[6]), int(sys.argv[7]), sys.argv[8]
wall = summary["durationMs"] / 1000.0
steps, train = {}, 0.0
for e in summary["entries"]:
    uri = e.get("reportUri")
    if not uri:
        continue
    report = json.load(open(urllib.parse.urlparse(uri).path))
    for k, v in report.get("durationsMs", {}).items():
        steps.setdefault(k, []).append(v / 1000.0)
    train += report.get("durationsMs", {}).get("train", 0) / 1000.0
ok = sum(v for k, v in summary["verdicts"].items() if k.startswith("REPRODUCED"))
fe = sum(int(r.get("historyLength", 0)) for r in fleet_runs)
fb = sum(int(r.get("historySizeBytes", 0)) for r in fleet_runs)
re_ = [int(r.get("historyLength", 0)) for r in replays]
rb = [int(r.get("historySizeBytes", 0)) for r in replays]
nontrain = [t - tr for t, tr in zip(steps.get("total", []), steps.get("train", []))]
avg = lambda xs: sum(xs) / max(1, len(xs))
line = "%-5d %-5d %-8.1f %-9.2f %-12.1f %-13.2f %-14.2f %-11s %-22s %-18s" % (
    c, n, wall, wall / n, train, (wall - train) / n, avg(nontrain), "%d/%d ok" % (ok, n),
    "%d ev %d KB" % (fe, fb // 1024) + (" (%d runs)" % len(fleet_runs) if len(fleet_runs) > 1 else ""),
    "%.0f ev %.0f KB avg" % (avg(re_), avg(rb) / 1024))
print(line)
with open(results, "a") as f:
    f.write(line + "\n")
means = ", ".join("%s %.2f" % (k, sum(v) / len(v)) for k, v in sorted(steps.items()) if k != "total")
print("      mean s per replay: " + means + "; CLI wall incl. JVM %.1f s" % cli_wall)
PY
done
say "results in $BENCH/results-$RUN.txt; logs in $BENCH/logs"
