#!/usr/bin/env bash
# Large-artifact throughput to the local s3proxy (issue 14): a SIZE (default 2 GiB) random file uploaded and
# downloaded by timemachine's S3 store (multipart upload, parallel ranged GETs; and, as the old way, one PUT /
# one GET) and by `aws s3 cp` (awscli, from PATH or pip-installed into a venv under BENCH_DIR), interleaved,
# then restored as a one-file snapshot (streamed in one GET and hashed as it is written; against aws s3 cp +
# sha256sum),
# REPS times each. Prints MB/s per tool and direction and the ratio timemachine / aws (throughput: higher is
# better, so a ratio above 1 means timemachine is faster). Times are taken inside each process (the JVM's start
# is not counted for timemachine; `aws` is timed as a whole process, its Python start included: ~0.5 s).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${BENCH_DIR:-/var/tmp/timemachine-bench}/s3
REPS=${REPS:-3}
SIZE=${SIZE:-2G}
ENDPOINT=${TIMEMACHINE_S3_ENDPOINT:-http://127.0.0.1:9000}
BUCKET=tm-bench-s3-$$
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-timemachine} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-timemachine-secret}
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
JAR=$ROOT/cli/target/timemachine.jar
say() { echo "bench-s3: $*" >&2; }
mkdir -p "$BENCH"
[ -f "$JAR" ] || { say "build first: ./mvnw -B -q install -DskipTests"; exit 2; }
curl -s -o /dev/null "$ENDPOINT/" || { say "no S3 server at $ENDPOINT: scripts/services.sh up"; exit 2; }
if command -v aws >/dev/null 2>&1; then AWS=$(command -v aws); else
  [ -x "$BENCH/venv/bin/aws" ] || { say "installing awscli into $BENCH/venv"; python3 -m venv "$BENCH/venv"; "$BENCH/venv/bin/pip" -q install awscli; }
  AWS=$BENCH/venv/bin/aws
fi
say "aws: $("$AWS" --version 2>&1)"
FILE=$BENCH/artifact.bin
if [ ! -f "$FILE" ] || [ "$(stat -c %s "$FILE")" != "$(numfmt --from=iec "$SIZE")" ]; then
  say "writing $SIZE of random bytes to $FILE"; head -c "$SIZE" /dev/urandom >"$FILE"
fi
BYTES=$(stat -c %s "$FILE")
tm() { java -cp "$JAR" "$ROOT/bench/S3Bench.java" "$@" 2>>"$BENCH/tm.err" | awk '{print $1}'; }
aws_time() { local t0 t1; t0=$(date +%s.%N); "$AWS" --endpoint-url "$ENDPOINT" s3 cp --only-show-errors "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
"$AWS" --endpoint-url "$ENDPOINT" s3 mb "s3://$BUCKET" >/dev/null
RESULTS=$BENCH/results.tsv; : >"$RESULTS"
record() { echo -e "$1\t$2\t$3" >>"$RESULTS"; say "$1 $2: $3 s"; }
for rep in $(seq 1 "$REPS"); do
  say "pair $rep/$REPS"
  record put timemachine "$(tm put "$ENDPOINT" "$BUCKET" tm/artifact "$FILE")"
  record put timemachine-single "$(tm put "$ENDPOINT" "$BUCKET" tm1/artifact "$FILE" single)"
  record put aws "$(aws_time "$FILE" "s3://$BUCKET/aws/artifact")"
  rm -f "$BENCH/down.bin"; record get timemachine "$(tm get "$ENDPOINT" "$BUCKET" tm/artifact "$BENCH/down.bin")"
  cmp -s "$FILE" "$BENCH/down.bin" || { say "timemachine's download differs"; exit 1; }
  rm -f "$BENCH/down.bin"; record get timemachine-single "$(tm get "$ENDPOINT" "$BUCKET" tm/artifact "$BENCH/down.bin" single)"
  rm -f "$BENCH/down.bin"; record get aws "$(aws_time "s3://$BUCKET/aws/artifact" "$BENCH/down.bin")"
  cmp -s "$FILE" "$BENCH/down.bin" || { say "aws's download differs"; exit 1; }
done
rm -f "$BENCH/down.bin"
# A snapshot restore of the same file: verified by sha256 either way; the baseline is aws s3 cp + sha256sum.
SNAP=$BENCH/snapshot-src; mkdir -p "$SNAP"; ln -f "$FILE" "$SNAP/artifact.bin"
tm_snapshot() { java -cp "$JAR" "$ROOT/bench/S3Bench.java" snapshot "$ENDPOINT" "$BUCKET" snap "$SNAP" "$BENCH/ref.json" 2>>"$BENCH/tm.err"; }
tm_snapshot
"$AWS" --endpoint-url "$ENDPOINT" s3 cp --only-show-errors "$FILE" "s3://$BUCKET/aws/restore.bin"
SUM=$(sha256sum "$FILE" | cut -d' ' -f1)
aws_restore() { local t0 t1; t0=$(date +%s.%N); "$AWS" --endpoint-url "$ENDPOINT" s3 cp --only-show-errors "s3://$BUCKET/aws/restore.bin" "$BENCH/restored-aws.bin"
  echo "$SUM  $BENCH/restored-aws.bin" | sha256sum -c --quiet; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
for rep in $(seq 1 "$REPS"); do
  say "restore pair $rep/$REPS"
  rm -rf "$BENCH/restored"; record restore timemachine "$(tm restore "$ENDPOINT" "$BUCKET" snap "$BENCH/ref.json" "$BENCH/restored")"
  rm -f "$BENCH/restored-aws.bin"; record restore aws "$(aws_restore)"
done
rm -rf "$BENCH/restored" "$BENCH/restored-aws.bin" "$SNAP"
"$AWS" --endpoint-url "$ENDPOINT" s3 rb --force "s3://$BUCKET" >/dev/null
grep -q ranges-refused "$BENCH/tm.err" 2>/dev/null && say "note: the server refused ranged GETs (see $BENCH/tm.err)"
python3 - "$RESULTS" "$BYTES" <<'PY'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
size = int(sys.argv[2]) / 1e6
med = {}
for op, tool, t in rows:
    med.setdefault((op, tool), []).append(float(t))
print(f"{'direction':<10} {'tool':<20} {'runs':>4} {'median s':>9} {'MB/s':>8} {'vs aws':>7}")
for op in ("put", "get", "restore"):
    aws = statistics.median(med[(op, "aws")])
    for tool in ("timemachine", "timemachine-single", "aws"):
        if (op, tool) not in med:
            continue
        m = statistics.median(med[(op, tool)])
        print(f"{op:<10} {tool:<20} {len(med[(op, tool)]):>4} {m:>9.2f} {size / m:>8.0f} {aws / m:>6.2f}x")
PY
