#!/usr/bin/env bash
# A durable Temporal dev server on loopback: the Temporal CLI's `server start-dev` with a SQLite file,
# so workflows survive a restart (and a kill -9). Builds the CLI from the Go module proxy on first use.
# Usage: scripts/temporal.sh [up|down|kill9|restart|status]
#   TEMPORAL_PORT (7233), TIMEMACHINE_SERVICES_DIR (/var/tmp/timemachine-services), TIMEMACHINE_CACHE_DIR (~/.cache/timemachine)
set -euo pipefail

PORT=${TEMPORAL_PORT:-7233}
STATE=${TIMEMACHINE_SERVICES_DIR:-/var/tmp/timemachine-services}/temporal-$PORT
CACHE=${TIMEMACHINE_CACHE_DIR:-$HOME/.cache/timemachine}
BIN=$CACHE/bin/temporal
# v1.6.0 and later carry a `replace` directive in go.mod, which `go install pkg@version` refuses.
CLI_VERSION=v1.5.1
mkdir -p "$STATE" "$CACHE/bin"

log() { printf '[temporal %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ensure_binary() {
  [ -x "$BIN" ] && return
  # A Go toolchain installed from go.dev's tarball lives in /usr/local/go, which is not always on PATH.
  command -v go >/dev/null || { [ -x /usr/local/go/bin/go ] && export PATH="$PATH:/usr/local/go/bin"; }
  command -v go >/dev/null || die "Go 1.25+ is needed to build the Temporal CLI ($CLI_VERSION): install it, or put a temporal binary at $BIN"
  log "building the Temporal CLI $CLI_VERSION from the Go module proxy (first use only; a few minutes)"
  local start=$SECONDS
  GOBIN="$CACHE/bin" go install "github.com/temporalio/cli/cmd/temporal@$CLI_VERSION" >"$STATE/build.log" 2>&1 \
    || { tail -20 "$STATE/build.log" >&2; die "go install failed"; }
  log "built in $((SECONDS - start)) s"
}

ready() {
  "$BIN" operator namespace describe --address "127.0.0.1:$PORT" --namespace default >/dev/null 2>&1
}

# The custom search attributes timemachine indexes replays by (dev.timemachine.workflow.SearchAttributes),
# all of type Keyword. Registered on every `up`, also against a server that already runs: no restart.
SEARCH_ATTRIBUTES=(TimemachineModel TimemachineVersion TimemachineVerdict TimemachineTrigger)

listed() {
  "$BIN" operator search-attribute list --address "127.0.0.1:$PORT" --namespace default 2>/dev/null | grep -qw "$1"
}

# One at a time, each until it is listed: two registrations in flight can overwrite each other's mapping.
register_search_attributes() {
  local name
  for name in "${SEARCH_ATTRIBUTES[@]}"; do
    listed "$name" && continue
    # A server that has just started (or is busy with the previous attribute) may refuse or drop a create:
    # ask again every 2 s for up to a minute, until it is listed.
    local tries=0
    until listed "$name"; do
      tries=$((tries + 1))
      [ "$tries" -le 30 ] || die "cannot register the search attribute $name (Keyword) on 127.0.0.1:$PORT"
      "$BIN" operator search-attribute create --address "127.0.0.1:$PORT" --namespace default --type Keyword --name "$name" \
        >/dev/null 2>&1 || true
      for _ in $(seq 8); do listed "$name" && break; sleep 0.25; done
    done
    log "registered search attribute $name"
  done
}

pid() { [ -f "$STATE/server.pid" ] && cat "$STATE/server.pid"; }

alive() { local p; p=$(pid) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

up() {
  ensure_binary
  if ready; then log "already running on 127.0.0.1:$PORT"; register_search_attributes; return; fi
  log "starting the dev server on 127.0.0.1:$PORT (database $STATE/temporal.db)"
  local start=$SECONDS
  setsid "$BIN" server start-dev --headless --ip 127.0.0.1 --port "$PORT" --db-filename "$STATE/temporal.db" \
    --log-level warn >>"$STATE/server.log" 2>&1 < /dev/null &
  echo $! >"$STATE/server.pid"
  for _ in $(seq 120); do
    if ready; then log "ready in $((SECONDS - start)) s"; register_search_attributes; return; fi
    alive || { tail -20 "$STATE/server.log" >&2; die "the dev server exited"; }
    sleep 0.5
  done
  die "the dev server did not become ready in 60 s (see $STATE/server.log)"
}

down() {
  if alive; then kill "$(pid)"; for _ in $(seq 50); do alive || break; sleep 0.2; done; fi
  rm -f "$STATE/server.pid"
  log "stopped"
}

kill9() {
  alive || die "no dev server of ours is running on port $PORT"
  kill -9 "$(pid)"
  for _ in $(seq 50); do alive || break; sleep 0.1; done
  rm -f "$STATE/server.pid"
  log "killed with SIGKILL; state kept in $STATE/temporal.db"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  kill9) kill9 ;;
  restart) down; up ;;
  status) if ready; then echo "temporal: up (127.0.0.1:$PORT)"; else echo "temporal: down"; fi ;;
  *) echo "usage: $0 [up|down|kill9|restart|status]" >&2; exit 2 ;;
esac
