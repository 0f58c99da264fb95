#!/usr/bin/env bash
# bench/replay.sh — timemachine replay against the same replay written by hand in bash, run in turn
# (A B A B ...), printing medians and the ratio timemachine / baseline per scenario, where
# timemachine's time goes (from the reports' durationsMs), and what a one-file change costs the store.
#
#   bench/replay.sh                       # all scenarios, REPS=3 interleaved pairs each
#   REPS=5 SCENARIOS="churn-cold churn-warm" bench/replay.sh
#   WORKER=1 SCENARIOS="churn-cold churn-warm" bench/replay.sh   # a running worker on TEMPORAL_ADDRESS
#
# WORKER=1: the CLI is a client of the Temporal server at TEMPORAL_ADDRESS (default 127.0.0.1:7233, the
# dev server of scripts/services.sh) and a `timemachine worker --unsigned` this script starts (queues of its own,
# stopped at exit) does the work; "cold" then empties the worker's work directory (caches included), and
# the scenarios are recorded as "<scenario>+worker".
#
# Needs the local services (scripts/services.sh up: Docker, the registry with the sample image).
# State lives in BENCH_DIR (default /var/tmp/timemachine-bench); delete it to start over. It never
# removes the shared sample image from the engine: "cold" means no timemachine cache (fresh work
# directory, new JVM; the class-data archive that ./timemachine records once per build is kept, and
# its one-time cost is printed apart), the image present in the engine for both pipelines,
# and the OS page cache left as it is (dropping it would disturb everyone else on the machine).
# Prints ratios; asserts nothing about time.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=${BENCH_DIR:-/var/tmp/timemachine-bench}
REPS=${REPS:-3}
SCENARIOS=${SCENARIOS:-"churn-cold churn-warm data-1g data-1g-warm data-20k repo-5k repo-5k-warm lever-cds store-1000"}
WORKER=${WORKER:-0}
export TIMEMACHINE_HOME=$BENCH/home
TM=$ROOT/timemachine
RESULTS=$BENCH/results.tsv
mkdir -p "$BENCH"
say() { echo "bench: $*" >&2; }
now() { date +%s.%N; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {'d': d, 'json': json}))" "$@"; }

# ---------- setup (once per BENCH_DIR) ----------
"$TM" --version >/dev/null
if [ ! -f "$TIMEMACHINE_HOME/store/models/churn/1.json" ]; then
  say "recording the churn sample (timemachine demo)"
  "$TM" demo --json >"$BENCH/demo.json" 2>"$BENCH/demo.err" || { tail -20 "$BENCH/demo.err"; exit 1; }
fi
CHURN=$TIMEMACHINE_HOME/store/models/churn/1.json
REPO=$(json "$CHURN" "d['triplet']['code']['repositoryUrl']")
COMMIT=$(json "$CHURN" "d['triplet']['code']['commit']")
IMAGE=$(json "$CHURN" "d['triplet']['environment']['image']")
DEMO=$(dirname "${REPO#file://}")
ORIGINAL=$DEMO/original-output
PLAIN=$BENCH/plain   # what a hand-written pipeline keeps: the dataset as a plain directory

register() { # name data-dir [repo commit]
  local name=$1 data=$2 repo=${3:-$REPO} commit=${4:-$COMMIT}
  [ -f "$TIMEMACHINE_HOME/store/models/$name/1.json" ] && return 0
  say "registering $name@1"
  "$TM" register --model "$name@1" --repo "$repo" --commit "$commit" --entry-point "python3 train.py" --workdir . \
    --image "$IMAGE" --data "$data" --output "$ORIGINAL" >/dev/null 2>"$BENCH/register-$name.err" \
    || { tail -5 "$BENCH/register-$name.err"; exit 1; }
}

mkdir -p "$PLAIN"
[ -d "$PLAIN/churn" ] || cp -r "$DEMO/data" "$PLAIN/churn"
case " $SCENARIOS " in *" data-1g "*|*" data-1g-warm "*)
  if [ ! -d "$PLAIN/data-1g" ]; then
    say "making a 1 GiB file (the churn data plus blob.bin: training still needs customers.csv)"
    cp -r "$DEMO/data" "$PLAIN/data-1g.tmp" && head -c 1073741824 /dev/urandom >"$PLAIN/data-1g.tmp/blob.bin"
    mv "$PLAIN/data-1g.tmp" "$PLAIN/data-1g"
  fi
  register bench-1g "$PLAIN/data-1g";;
esac
case " $SCENARIOS " in *" data-20k "*)
  if [ ! -d "$PLAIN/data-20k" ]; then
    say "making 20,000 small files"
    cp -r "$DEMO/data" "$PLAIN/data-20k.tmp"
    python3 - "$PLAIN/data-20k.tmp" <<'PY'
import os, sys
root = sys.argv[1]
for i in range(20000):
    d = os.path.join(root, "shards", "%03d" % (i // 200))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "part-%05d.csv" % i), "w") as f:
        f.write("id,value\n%d,%d\n" % (i, i * 7 % 1000))
PY
    mv "$PLAIN/data-20k.tmp" "$PLAIN/data-20k"
  fi
  register bench-20k "$PLAIN/data-20k";;
esac
case " $SCENARIOS " in *" repo-5k "*|*" repo-5k-warm "*)
  if [ ! -d "$BENCH/repo-5k" ]; then
    say "making a repository with 5,000 more files and 1,000 commits"
    git clone -q "$REPO" "$BENCH/repo-5k.tmp"
    (cd "$BENCH/repo-5k.tmp" && git -c advice.detachedHead=false checkout -q "$COMMIT" && git checkout -q -b bench \
      && python3 - <<'PY'
import os, subprocess
env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@localhost",
           GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@localhost")
# 1,000 commits of 5 new files each, through one fast-import stream (a loop of git commit takes minutes).
lines = []
parent = subprocess.check_output(["git", "rev-parse", "HEAD"], text=True).strip()
for c in range(1000):
    lines.append("commit refs/heads/bench\ncommitter bench <bench@localhost> %d +0000\ndata 12\ncommit %05d\n" % (1700000000 + c, c))
    lines.append("from %s\n" % parent if c == 0 else "")
    for k in range(5):
        n = c * 5 + k
        body = ("module %d\n" % n) * 20
        lines.append("M 100644 inline src/pkg%02d/mod%04d.txt\ndata %d\n%s\n" % (n % 50, n, len(body), body))
subprocess.run(["git", "fast-import", "--quiet", "--force"], input="".join(lines), text=True, check=True, env=env)
subprocess.run(["git", "checkout", "-q", "-f", "bench"], check=True)
PY
    )
    mv "$BENCH/repo-5k.tmp" "$BENCH/repo-5k"
  fi
  register bench-repo5k "$PLAIN/churn" "file://$BENCH/repo-5k" "$(git -C "$BENCH/repo-5k" rev-parse bench)";;
esac

# ---------- the hand-written baseline: the same steps, the same checks, in bash ----------
baseline() { # model-manifest plain-data-dir work-dir
  local m=$1 plain=$2 w=$3
  rm -rf "$w" && mkdir -p "$w/out"
  local repo commit image
  repo=$(json "$m" "d['triplet']['code']['repositoryUrl']")
  commit=$(json "$m" "d['triplet']['code']['commit']")
  image=$(json "$m" "d['triplet']['environment']['image']")
  json "$m" "'\n'.join(f['sha256']+'  '+f['path'] for f in d['triplet']['data']['files'])" >"$w/data.sha256"
  json "$m" "'\n'.join(f['sha256']+'  '+f['path'] for f in d['recorded']['artifacts'])" >"$w/artifacts.sha256"
  # code: clone, check out exactly the commit, HEAD must equal it
  git clone -q --no-checkout "$repo" "$w/code"
  git -C "$w/code" -c advice.detachedHead=false checkout -q "$commit"
  [ "$(git -C "$w/code" rev-parse HEAD)" = "$commit" ]
  # environment: pull by digest (a registry round trip even when the engine has it)
  docker pull -q "$image" >/dev/null
  # data: copy, then re-hash every file against the record
  cp -r "$plain" "$w/data"
  (cd "$w/data" && sha256sum --quiet -c "$w/data.sha256")
  # train: no network, read-only code and data, the same limits
  docker run --rm --network none --cpus 1 --memory 2g --pids-limit 512 \
    -v "$w/code:/code:ro" -v "$w/data:/data:ro" -v "$w/out:/out" -w /code \
    -e TIMEMACHINE_CODE=/code -e TIMEMACHINE_DATA=/data -e TIMEMACHINE_OUTPUT=/out -e HOME=/tmp -e PYTHONUNBUFFERED=1 \
    "$image" python3 train.py >"$w/training.log" 2>&1
  # compare and report
  local verdict=REPRODUCED_BITWISE
  (cd "$w/out" && sha256sum --quiet -c "$w/artifacts.sha256" >/dev/null 2>&1) || verdict=DIVERGED
  printf '{"verdict": "%s", "commit": "%s", "image": "%s"}\n' "$verdict" "$commit" "$image" >"$w/report.json"
  [ "$verdict" = REPRODUCED_BITWISE ]
}

timemachine_replay() { # spec out-json work-dir
  if [ "$WORKER" = 1 ]; then
    TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS TIMEMACHINE_CONTROL_QUEUE=$QUEUE-control TIMEMACHINE_TRAINING_QUEUE=$QUEUE-training \
      TIMEMACHINE_TIMINGS=1 "$TM" replay "$1" --json >"$2" 2>"$2.err"
  else
    TIMEMACHINE_WORK_DIR=$3 TIMEMACHINE_TIMINGS=1 "$TM" replay "$1" --json >"$2" 2>"$2.err"
  fi
}
# The CLI's own phases, from its `timings:` line (TIMEMACHINE_TIMINGS=1), as JSON: {"jvm": 61, "cli": 99, ...}.
cli_phases() {
  python3 -c "import json,re,sys; l=[x for x in open(sys.argv[1]) if x.startswith('timings:')]; print(json.dumps({k: int(v) for k, v in re.findall(r'(\w+) (\d+) ms', l[-1])} if l else {}))" "$1"
}

SUFFIX=
if [ "$WORKER" = 1 ]; then
  export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
  QUEUE=bench-$$; SUFFIX=+worker; WORKER_WORK=$BENCH/work-worker
  rm -rf "$WORKER_WORK"
  say "starting a worker on $TEMPORAL_ADDRESS, queues $QUEUE-control and $QUEUE-training"
  TIMEMACHINE_WORK_DIR=$WORKER_WORK TIMEMACHINE_CONTROL_QUEUE=$QUEUE-control TIMEMACHINE_TRAINING_QUEUE=$QUEUE-training \
    TIMEMACHINE_WORKER_ID=bench-$$ "$TM" worker --unsigned --metrics-port 0 >"$BENCH/worker.log" 2>&1 &
  WORKER_PID=$!
  trap 'kill $WORKER_PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 60); do grep -q "serving" "$BENCH/worker.log" 2>/dev/null && break; sleep 1; done
  sleep 2
fi

# ---------- runs ----------
: >"$RESULTS"
record() { local phases=${5:-}; [ -n "$phases" ] || phases='{}'; printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$phases" >>"$RESULTS"; }
jvm_start() { local t0; t0=$(now); java ${TIMEMACHINE_JAVA_OPTS:-} -jar "$ROOT/cli/target/timemachine.jar" --version >/dev/null; echo "$(now) - $t0" | bc; }

run_pair() { # scenario spec model-name plain-dir mode(cold|warm) rep
  local scenario=$1 spec=$2 name=$3 plain=$4 mode=$5 rep=$6 t0 t1 work=$BENCH/work-$3
  local first=baseline; [ $((rep % 2)) -eq 1 ] && first=timemachine   # alternate which goes first
  for who in $first $([ $first = baseline ] && echo timemachine || echo baseline); do
    if [ $who = baseline ]; then
      t0=$(now); baseline "$TIMEMACHINE_HOME/store/models/$name/1.json" "$plain" "$BENCH/baseline-work"; t1=$(now)
      record "$scenario$SUFFIX" baseline "$(echo "$t1 - $t0" | bc)" "-"
    else
      if [ "$mode" = cold ]; then
        if [ "$WORKER" = 1 ]; then rm -rf "${WORKER_WORK:?}"/* "$WORKER_WORK"/.cache; else rm -rf "$work"; fi
      else
        timemachine_replay "$spec" "$BENCH/last.json" "$work"   # the first replay, which warms
      fi
      t0=$(now); timemachine_replay "$spec" "$BENCH/last.json" "$work"; t1=$(now)
      [ "$(json "$BENCH/last.json" "d['verdict']")" = REPRODUCED_BITWISE ] || { say "unexpected verdict"; cat "$BENCH/last.json.err" >&2; exit 1; }
      record "$scenario$SUFFIX" timemachine "$(echo "$t1 - $t0" | bc)" "$(json "$BENCH/last.json" "json.dumps(d['durationsMs'])")" \
        "$(cli_phases "$BENCH/last.json.err")"
    fi
  done
}

for scenario in $SCENARIOS; do
  case $scenario in
    churn-cold) args=("churn@1" churn "$PLAIN/churn" cold);;
    churn-warm) args=("churn@1" churn "$PLAIN/churn" warm);;
    data-1g) args=("bench-1g@1" bench-1g "$PLAIN/data-1g" cold);;
    data-1g-warm) args=("bench-1g@1" bench-1g "$PLAIN/data-1g" warm);;
    data-20k) args=("bench-20k@1" bench-20k "$PLAIN/data-20k" cold);;
    repo-5k) args=("bench-repo5k@1" bench-repo5k "$PLAIN/churn" cold);;
    repo-5k-warm) args=("bench-repo5k@1" bench-repo5k "$PLAIN/churn" warm);;
    store-1000) continue;;
    lever-cds)  # AppCDS on (B) against off (A), same warm replay of churn, interleaved
      rm -f "$ROOT/cli/target/timemachine.jsa" "$ROOT/cli/target/timemachine.jsa.from"
      t0=$(now); timemachine_replay churn@1 "$BENCH/last.json" "$BENCH/work-cds"; t1=$(now)
      record lever-cds-record once "$(echo "$t1 - $t0" | bc)" "-"
      for rep in $(seq 1 "$REPS"); do
        say "lever-cds: pair $rep/$REPS"
        for cds in 0 1; do
          t0=$(now); TIMEMACHINE_CDS=$cds timemachine_replay churn@1 "$BENCH/last.json" "$BENCH/work-cds"; t1=$(now)
          record lever-cds "cds=$cds" "$(echo "$t1 - $t0" | bc)" "-"
        done
      done
      continue;;
    *) say "unknown scenario $scenario"; exit 2;;
  esac
  for rep in $(seq 1 "$REPS"); do
    say "$scenario: pair $rep/$REPS"
    run_pair "$scenario" "${args[@]}" "$rep"
  done
done
for rep in $(seq 1 "$REPS"); do record jvm-start java "$(jvm_start)" "-"; done

# ---------- storage: 1,000 files of 1 MB, one changed ----------
case " $SCENARIOS " in *" store-1000 "*)
  S=$BENCH/store-1000; rm -rf "$S"; mkdir -p "$S/data"
  say "storage: 1,000 files of 1 MiB, snapshot, change one, snapshot again"
  python3 - "$S/data" <<'PY'
import os, sys
for i in range(1000):
    with open(os.path.join(sys.argv[1], "f%04d.bin" % i), "wb") as f:
        f.write(os.urandom(1 << 20))
PY
  TIMEMACHINE_STORE=file://$S/store "$TM" snapshot create "$S/data" >/dev/null 2>"$S/first.err"
  before=$(du -sb "$S/store" | cut -f1)
  head -c 1048576 /dev/urandom >"$S/data/f0500.bin"
  TIMEMACHINE_STORE=file://$S/store "$TM" snapshot create "$S/data" >/dev/null 2>"$S/second.err"
  after=$(du -sb "$S/store" | cut -f1)
  record store-1000 first "$(tail -1 "$S/first.err")" "$before"
  record store-1000 second "$(tail -1 "$S/second.err")" "$((after - before))";;
esac

# ---------- report ----------
python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
med = lambda xs: statistics.median(xs) if xs else float("nan")
print("\n## Wall time, medians of interleaved runs (seconds)\n")
print("| scenario | runs | baseline | timemachine | timemachine / baseline |")
print("| --- | --- | --- | --- | --- |")
order = []
for r in rows:
    if r[0] not in order and r[0] not in ("jvm-start", "store-1000") and not r[0].startswith("lever-"):
        order.append(r[0])
for s in order:
    b = [float(r[2]) for r in rows if r[0] == s and r[1] == "baseline"]
    t = [float(r[2]) for r in rows if r[0] == s and r[1] == "timemachine"]
    print("| %s | %d+%d | %.2f | %.2f | %.2fx |" % (s, len(b), len(t), med(b), med(t), med(t) / med(b)))
jvm = [float(r[2]) for r in rows if r[0] == "jvm-start"]
print("\n## Where timemachine's time goes (medians, ms; from each report's durationsMs)\n")
keys = ["resolve", "code", "environment", "data", "materialize", "train", "compare", "total"]
print("| scenario | JVM start (--version) | JVM + Temporal start + client (wall - total) | " + " | ".join(keys) + " |")
print("|" + " --- |" * (len(keys) + 3))
for s in order:
    ds = [(float(r[2]), json.loads(r[3])) for r in rows if r[0] == s and r[1] == "timemachine"]
    outside = med([w * 1000 - d["total"] for w, d in ds])
    print("| %s | %.0f | %.0f | " % (s, med(jvm) * 1000, outside) + " | ".join("%.0f" % med([d.get(k, 0) for _, d in ds]) for k in keys) + " |")
print("\n(report and cleanup are inside total - compare - train - materialize - resolve)")
phases = ["jvm", "cli", "parse", "temporal", "workers", "workflow", "print", "close"]
print("\n## The CLI's own phases (medians, ms; from its TIMEMACHINE_TIMINGS=1 line)\n")
print("jvm: process start to main; cli: building the command line; parse: options, replay id, configuration;"
      " temporal: the in-process server or the client connection; workers: the in-process workers (embedded only);"
      " workflow: start to result; print: the report read back and printed; close; exit: the rest of the wall time"
      " (JVM shutdown, the wrapper script)\n")
print("| scenario | " + " | ".join(phases) + " | exit |")
print("|" + " --- |" * (len(phases) + 2))
for s in order:
    ps = [(float(r[2]), json.loads(r[4])) for r in rows if r[0] == s and r[1] == "timemachine" and len(r) > 4 and r[4] != "{}"]
    if ps:
        print("| %s | " % s + " | ".join("%.0f" % med([p.get(k, 0) for _, p in ps]) for k in phases)
              + " | %.0f |" % med([w * 1000 - sum(p.values()) for w, p in ps]))
a = [float(r[2]) for r in rows if r[0] == "lever-cds" and r[1] == "cds=0"]
b = [float(r[2]) for r in rows if r[0] == "lever-cds" and r[1] == "cds=1"]
if a and b:
    once = [float(r[2]) for r in rows if r[0] == "lever-cds-record"]
    print("\n## Lever: AppCDS (./timemachine's class-data archive), churn replay, interleaved\n")
    print("- off: %.2f s, on: %.2f s (medians of %d each): on / off = %.2fx; recording the archive once: %.2f s"
          % (med(a), med(b), len(a), med(b) / med(a), once[0] if once else float("nan")))
st = [r for r in rows if r[0] == "store-1000"]
if st:
    print("\n## Storage: 1,000 files of 1 MiB, then one file changed\n")
    for r in st:
        print("- %s snapshot: %s; store grew by %s bytes" % (r[1], r[2], r[3]))
PY
