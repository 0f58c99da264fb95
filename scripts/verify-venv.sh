#!/usr/bin/env bash
# The auditor's Python verifier's venv (verify/requirements.txt from PyPI), cached under
# ~/.cache/timemachine like scripts/mlflow.sh's. Prints the venv's python. Idempotent.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${TIMEMACHINE_CACHE_DIR:-$HOME/.cache/timemachine}
VENV=$CACHE/verify-venv
REQ=$ROOT/verify/requirements.txt
STAMP=$VENV/.requirements.sha256
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
  echo "$VENV/bin/python"; exit 0
fi
mkdir -p "$CACHE"
rm -rf "$VENV"
python3 -m venv "$VENV" >&2 || { echo "python3 -m venv failed: install python3-venv (apt-get install -y python3-venv)" >&2; exit 1; }
"$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ" >&2
echo "$want" > "$STAMP"
echo "$VENV/bin/python"
