#!/usr/bin/env bash
# Installs (if missing) and starts, on loopback only, every service timemachine's demo and tests use:
#   - a Docker engine without a bridge network (containers get loopback only; training runs with --network none)
#   - a local image registry on 127.0.0.1:5000 (CNCF distribution, Debian package docker-registry)
#   - the sample environment image, built offline (debootstrap + docker import) and pushed to that registry
#   - the MLflow sample image (that image + mlflow-skinny from PyPI wheels, samples/env/build-mlflow-image.sh), pushed too
#   - an S3-compatible server (s3proxy from Maven Central) on 127.0.0.1:9000, with the buckets the README and
#     the stack use (timemachine, ml-snapshots; TIMEMACHINE_S3_BUCKETS to choose others)
#   - a durable Temporal dev server (scripts/temporal.sh; built from the Go module proxy) on 127.0.0.1:7233
#   - an MLflow tracking server and model registry (scripts/mlflow.sh; a venv from PyPI) on 127.0.0.1:5050
#   - Debian's docker-compose, which the tests use to validate docker-compose.yml (nothing is started with it)
# Idempotent: a service that already answers is left alone. Safe to run on every CI run and every demo.
# Usage: scripts/services.sh [up|status|down]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${TIMEMACHINE_SERVICES_DIR:-/var/tmp/timemachine-services}
CACHE=${TIMEMACHINE_CACHE_DIR:-$HOME/.cache/timemachine}
REGISTRY_ADDR=127.0.0.1:5000
S3_PORT=${TIMEMACHINE_S3_PORT:-9000}
SAMPLE_IMAGE=$REGISTRY_ADDR/timemachine/churn-env:bookworm
MLFLOW_IMAGE=$REGISTRY_ADDR/timemachine/mlflow-env:bookworm
S3PROXY_VERSION=4.1.0
S3_BUCKETS=${TIMEMACHINE_S3_BUCKETS:-timemachine ml-snapshots}
mkdir -p "$STATE" "$CACHE"

log() { printf '[services %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  for _ in $(seq "$secs"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  die "$what did not come up within ${secs}s (see logs in $STATE)"
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v java >/dev/null || missing+=(openjdk-17-jdk-headless)
  command -v curl >/dev/null || missing+=(curl)
  # Debian's docker-compose 1.29.2: ComposeFileIT validates docker-compose.yml with it.
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  # Debian's chromium: HtmlReportIT opens the HTML report in it headless (DOM dump and screenshot).
  command -v chromium >/dev/null || missing+=(chromium)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$STATE/apt.log" 2>&1 \
      || { tail -20 "$STATE/apt.log" >&2; die "apt-get install failed"; }
  fi
}

start_docker() {
  if docker version >/dev/null 2>&1; then log "docker engine: already running"; return; fi
  log "starting dockerd (no bridge, no iptables: containers get loopback only)"
  as_root setsid dockerd --host unix:///var/run/docker.sock --bridge=none --iptables=false \
    >"$STATE/dockerd.log" 2>&1 < /dev/null &
  wait_for 60 "dockerd" docker version
}

start_registry() {
  if curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; then log "registry: already running"; return; fi
  mkdir -p "$STATE/registry"
  cat >"$STATE/registry.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
YML
  log "starting image registry on $REGISTRY_ADDR"
  setsid docker-registry serve "$STATE/registry.yml" >"$STATE/registry.log" 2>&1 < /dev/null &
  wait_for 30 "image registry" curl -fsS "http://$REGISTRY_ADDR/v2/"
}

sample_image_in_registry() {
  curl -fsS -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY_ADDR/v2/timemachine/churn-env/manifests/bookworm"
}

build_sample_image() {
  if sample_image_in_registry; then log "sample image: already in the registry"; return; fi
  if ! docker image inspect "$SAMPLE_IMAGE" >/dev/null 2>&1; then
    "$ROOT/samples/env/build-offline.sh" "$SAMPLE_IMAGE" "$CACHE"
  fi
  log "pushing $SAMPLE_IMAGE"
  docker push -q "$SAMPLE_IMAGE" >/dev/null
}

mlflow_image_in_registry() {
  curl -fsS -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY_ADDR/v2/timemachine/mlflow-env/manifests/bookworm"
}

# About 30 s (wheels downloaded on the host with the MLflow venv's pip; the build itself has no network).
build_mlflow_image() {
  if mlflow_image_in_registry; then log "MLflow sample image: already in the registry"; return; fi
  if ! docker image inspect "$MLFLOW_IMAGE" >/dev/null 2>&1; then
    PIP="$("$ROOT/scripts/mlflow.sh" python) -m pip" \
      "$ROOT/samples/env/build-mlflow-image.sh" "$MLFLOW_IMAGE" "$SAMPLE_IMAGE" "$CACHE"
  fi
  log "pushing $MLFLOW_IMAGE"
  docker push -q "$MLFLOW_IMAGE" >/dev/null
}

start_s3() {
  if curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" 2>/dev/null; then log "s3proxy: already running"; return; fi
  local jar="$CACHE/s3proxy-$S3PROXY_VERSION-jar-with-dependencies.jar"
  if [ ! -f "$jar" ]; then
    log "fetching s3proxy $S3PROXY_VERSION from Maven Central"
    (cd "$ROOT" && ./mvnw -q -B dependency:copy \
      -Dartifact=org.gaul:s3proxy:$S3PROXY_VERSION:jar:jar-with-dependencies \
      -DoutputDirectory="$CACHE" -Dmdep.overWriteIfNewer=true) || die "could not fetch s3proxy"
  fi
  mkdir -p "$STATE/s3"
  cat >"$STATE/s3proxy.conf" <<CONF
s3proxy.endpoint=http://127.0.0.1:$S3_PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=${TIMEMACHINE_S3_ACCESS_KEY:-timemachine}
s3proxy.credential=${TIMEMACHINE_S3_SECRET_KEY:-timemachine-secret}
s3proxy.ignore-unknown-headers=true
jclouds.provider=filesystem-nio2
jclouds.filesystem.basedir=$STATE/s3
CONF
  log "starting s3proxy on 127.0.0.1:$S3_PORT"
  setsid java -jar "$jar" --properties "$STATE/s3proxy.conf" >"$STATE/s3proxy.log" 2>&1 < /dev/null &
  wait_for 60 "s3proxy" curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/"
}

# s3proxy's filesystem-nio2 backend keeps one directory per bucket under its basedir and lists them live, so a
# directory made there is a bucket, before or after the server starts (checked with the AWS SDK: ListBuckets names
# it, HeadBucket and PutObject work). No signed request is needed, and mkdir -p is idempotent and leaves existing
# objects alone. Only for the s3proxy this script configures: its basedir is $STATE/s3.
create_buckets() {
  local bucket
  for bucket in $S3_BUCKETS; do mkdir -p "$STATE/s3/$bucket"; done
  log "s3 buckets: $S3_BUCKETS"
}

status() {
  docker version --format 'docker engine: {{.Server.Version}}' 2>/dev/null || echo "docker engine: down"
  curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1 && echo "registry: up ($REGISTRY_ADDR)" || echo "registry: down"
  sample_image_in_registry 2>/dev/null && echo "sample image: $SAMPLE_IMAGE" || echo "sample image: missing"
  mlflow_image_in_registry 2>/dev/null && echo "MLflow sample image: $MLFLOW_IMAGE" || echo "MLflow sample image: missing"
  curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && echo "s3: up (127.0.0.1:$S3_PORT)" || echo "s3: down"
  "$ROOT/scripts/temporal.sh" status
  "$ROOT/scripts/mlflow.sh" status
}

case "${1:-up}" in
  up)
    install_packages
    start_docker
    start_registry
    build_sample_image
    start_s3
    create_buckets
    "$ROOT/scripts/temporal.sh" up
    "$ROOT/scripts/mlflow.sh" up >/dev/null
    build_mlflow_image
    status
    ;;
  status) status ;;
  down)
    pkill -f "s3proxy.*--properties $STATE" || true
    pkill -f "docker-registry serve $STATE" || true
    "$ROOT/scripts/temporal.sh" down || true
    "$ROOT/scripts/mlflow.sh" down || true
    ;;
  *) echo "usage: $0 [up|status|down]" >&2; exit 2 ;;
esac
