#!/usr/bin/env bash
# A real MLflow tracking server and model registry on loopback, for the MLflow adapter's integration
# tests and the demo: SQLite backend store, artifacts served through the server (--serve-artifacts),
# so clients need nothing but HTTP. Installs MLflow into its own venv on first use (from PyPI).
# Idempotent: a server that already answers /health is left alone.
# Usage: scripts/mlflow.sh [up|down|status|python]
#   up      install if missing, start, wait for /health, print the venv python and the tracking URI
#   down    stop the server this script started (by its recorded process group)
#   status  say whether it answers
#   python  print the venv python's path (what record_run.py and the ITs run with)
# Environment: TIMEMACHINE_MLFLOW_PORT (5050), TIMEMACHINE_SERVICES_DIR (/var/tmp/timemachine-services),
#   TIMEMACHINE_CACHE_DIR (~/.cache/timemachine), TIMEMACHINE_MLFLOW_VERSION (the tested pin below).
set -euo pipefail

PORT=${TIMEMACHINE_MLFLOW_PORT:-5050}
STATE=${TIMEMACHINE_SERVICES_DIR:-/var/tmp/timemachine-services}/mlflow
CACHE=${TIMEMACHINE_CACHE_DIR:-$HOME/.cache/timemachine}
VENV=$CACHE/mlflow-venv
PY=$VENV/bin/python
# The version the adapter and its integration tests were verified against. PyPI's newest mlflow, 3.18.0,
# cannot be installed from it: it pins mlflow-skinny==3.18.0, which PyPI does not serve (3.17.2 is the newest).
MLFLOW_VERSION=${TIMEMACHINE_MLFLOW_VERSION:-3.17.2}
URI=http://127.0.0.1:$PORT
# MLflow 3 sends usage telemetry to mlflow-telemetry.io unless told not to; nothing here leaves loopback.
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true

log() { printf '[mlflow %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

healthy() { curl -fsS -m 2 "$URI/health" >/dev/null 2>&1; }

pid() { [ -f "$STATE/server.pid" ] && cat "$STATE/server.pid"; }

alive() { local p; p=$(pid) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian ships python3 without venv/ensurepip (package python3-venv): install it when a venv cannot be made.
make_venv() {
  if command -v python3 >/dev/null && python3 -m venv "$VENV" >"$STATE/venv.log" 2>&1; then
    return
  fi
  rm -rf "$VENV"
  log "python3 -m venv is unavailable: installing python3 and python3-venv (Debian packages)"
  as_root apt-get update -qq >>"$STATE/venv.log" 2>&1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >>"$STATE/venv.log" 2>&1 \
    || { tail -20 "$STATE/venv.log" >&2; die "apt-get install python3-venv failed (log: $STATE/venv.log)"; }
  python3 -m venv "$VENV" >>"$STATE/venv.log" 2>&1 || { tail -20 "$STATE/venv.log" >&2; die "python3 -m venv failed"; }
}

ensure_venv() {
  if [ -x "$PY" ] && "$PY" -c "import mlflow, sys; sys.exit(mlflow.__version__ != '$MLFLOW_VERSION')" 2>/dev/null; then
    return
  fi
  mkdir -p "$CACHE" "$STATE"
  local start=$SECONDS
  if [ ! -x "$PY" ]; then
    log "creating the venv $VENV"
    make_venv
  fi
  log "installing mlflow==$MLFLOW_VERSION into $VENV (first use only; about a minute)"
  "$PY" -m pip install -q --disable-pip-version-check "mlflow==$MLFLOW_VERSION" >"$STATE/pip.log" 2>&1 \
    || { tail -20 "$STATE/pip.log" >&2; die "pip install mlflow==$MLFLOW_VERSION failed (log: $STATE/pip.log)"; }
  log "installed in $((SECONDS - start)) s"
}

up() {
  ensure_venv
  mkdir -p "$STATE/mlflow-artifacts"
  if healthy; then
    log "already running on $URI"
  else
    alive && die "a server of ours (pid $(pid)) runs but $URI/health does not answer: run '$0 down' first"
    log "starting mlflow server on $URI (state in $STATE)"
    local start=$SECONDS
    # setsid: its own session, so it outlives this shell and `down` can stop the whole process group.
    setsid "$VENV/bin/mlflow" server --host 127.0.0.1 --port "$PORT" \
      --backend-store-uri "sqlite:///$STATE/mlflow.db" \
      --artifacts-destination "$STATE/mlflow-artifacts" --serve-artifacts \
      >>"$STATE/server.log" 2>&1 </dev/null &
    echo $! >"$STATE/server.pid"
    for _ in $(seq 240); do
      if healthy; then break; fi
      alive || { tail -20 "$STATE/server.log" >&2; die "mlflow server exited (log: $STATE/server.log)"; }
      sleep 0.5
    done
    healthy || die "mlflow server did not answer $URI/health within 120 s (log: $STATE/server.log)"
    log "ready in $((SECONDS - start)) s"
  fi
  echo "MLFLOW_TRACKING_URI=$URI"
  echo "venv python: $PY"
}

down() {
  if alive; then
    local p; p=$(pid)
    kill -- "-$p" 2>/dev/null || kill "$p"
    for _ in $(seq 50); do alive || break; sleep 0.2; done
    alive && kill -9 -- "-$p" 2>/dev/null || true
    log "stopped"
  else
    log "no server of ours is running"
  fi
  rm -f "$STATE/server.pid"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  status) if healthy; then echo "mlflow: up ($URI)"; else echo "mlflow: down"; fi ;;
  python) echo "$PY" ;;
  *) echo "usage: $0 [up|down|status|python]" >&2; exit 2 ;;
esac
