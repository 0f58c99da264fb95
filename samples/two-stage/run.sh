#!/usr/bin/env bash
# The two-stage sample, end to end: a feature encoder and a churn model that consumes its output.
#
#   scripts/services.sh up && samples/two-stage/run.sh
#
# 1. trains encoder@1 on the Q3 data and registers it;
# 2. trains churn-encoded@1 with encoder@1's encoder.pkl mounted at /upstream/encoder, and registers it
#    with --upstream encoder@1:encoder.pkl;
# 3. replays churn-encoded@1 (the upstream artifact is restored and verified by sha256: REPRODUCED_BITWISE);
# 4. trains encoder@2 on the Q4 data and registers it;
# 5. prints the lineage of encoder, and backtests its downstream models with encoder@2 in place of encoder@1.
#
# The original trainings are plain `docker run`s, as a team's own pipeline would run them; timemachine
# only records them (register) and rebuilds them. Environment: TIMEMACHINE (the CLI, default ./timemachine),
# TWO_STAGE_DIR (work directory, default a new temporary one), and everything the CLI reads
# (TIMEMACHINE_HOME, TIMEMACHINE_STORE, TEMPORAL_ADDRESS, ...).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
read -r -a TM <<< "${TIMEMACHINE:-$ROOT/timemachine}"
W=${TWO_STAGE_DIR:-$(mktemp -d -t two-stage-XXXXXX)}
REGISTRY=${TIMEMACHINE_SAMPLE_REGISTRY:-127.0.0.1:5000}
say() { printf '\n== %s\n' "$*" >&2; }

digest=$(curl -fsSI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "http://$REGISTRY/v2/timemachine/churn-env/manifests/bookworm" | tr -d '\r' | awk 'tolower($1)=="docker-content-digest:"{print $2}')
[ -n "$digest" ] || { echo "run.sh: the sample image is not in $REGISTRY (run scripts/services.sh up)" >&2; exit 2; }
IMAGE=$REGISTRY/timemachine/churn-env@$digest
docker pull -q "$IMAGE" >/dev/null

say "code and data in $W"
mkdir -p "$W/code"
cp "$ROOT/samples/two-stage/encode.py" "$ROOT/samples/two-stage/train.py" "$ROOT/samples/churn/make_data.py" "$W/code/"
git -C "$W/code" init -q -b main
git -C "$W/code" -c user.name=sample -c user.email=sample@localhost add -A
git -C "$W/code" -c user.name=sample -c user.email=sample@localhost commit -q -m "two-stage sample"
COMMIT=$(git -C "$W/code" rev-parse HEAD)
python3 "$W/code/make_data.py" "$W/q3" >/dev/null
python3 "$W/code/make_data.py" "$W/q4" --shift 1 >/dev/null

# train NAME DATA ENTRY [UPSTREAM_DIR]: the team's own training run, sandboxed like a replay.
train() {
  local out=$W/$1 mounts=(-v "$W/code:/code:ro" -v "$2:/data:ro")
  rm -rf "$out" && mkdir -p "$out" && chmod 777 "$out"
  if [ -n "${4:-}" ]; then mounts+=(-v "$4:/upstream/encoder:ro" -e TIMEMACHINE_UPSTREAM=/upstream); fi
  docker run --rm --network none --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
    --user 65534:65534 -w /code "${mounts[@]}" -v "$out:/out" \
    -e TIMEMACHINE_DATA=/data -e TIMEMACHINE_OUTPUT=/out -e HOME=/tmp "$IMAGE" python3 "$3" >&2
}

say "1. encoder@1, fitted on Q3"
train encoder-1 "$W/q3" encode.py
"${TM[@]}" register --model encoder@1 --repo "$W/code" --commit "$COMMIT" --entry-point "python3 encode.py" \
  --image "$IMAGE" --data "$W/q3" --output "$W/encoder-1"

say "2. churn-encoded@1, trained on encoder@1's output"
train churn-encoded-1 "$W/q3" train.py "$W/encoder-1"
"${TM[@]}" register --model churn-encoded@1 --repo "$W/code" --commit "$COMMIT" --entry-point "python3 train.py" \
  --image "$IMAGE" --data "$W/q3" --output "$W/churn-encoded-1" --upstream encoder@1:encoder.pkl \
  --threshold 'accuracy>=0.6'

say "3. replay churn-encoded@1 (its upstream artifact restored and verified)"
"${TM[@]}" replay churn-encoded@1

say "4. encoder@2, fitted on Q4"
train encoder-2 "$W/q4" encode.py
"${TM[@]}" register --model encoder@2 --repo "$W/code" --commit "$COMMIT" --entry-point "python3 encode.py" \
  --image "$IMAGE" --data "$W/q4" --output "$W/encoder-2"

say "5. lineage of encoder, and its downstream models backtested with encoder@2"
"${TM[@]}" lineage encoder
"${TM[@]}" backtest encoder@2 --downstream
