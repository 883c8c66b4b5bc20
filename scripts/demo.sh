#!/usr/bin/env bash
# make demo: start the control plane on the embedded default (SQLite under
# DIR/data, no configuration), wait until it is ready, and show its status.
# Leaves the control plane running in the foreground until Ctrl-C unless
# NSCALE_DEMO_EXIT=1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-.demo}
mkdir -p "$DIR"
cd "$DIR"
BIN="$ROOT/bin"
LOG=controlplane.log

"$BIN/nscale-controlplane" --log-format text >"$LOG" 2>&1 &
CP=$!
trap 'kill -TERM $CP 2>/dev/null; wait $CP 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  if [ -s data/admin.token ] && "$BIN/nscalectl" --token-file data/admin.token --timeout 2s status >/dev/null 2>&1; then break; fi
  if ! kill -0 $CP 2>/dev/null; then echo "control plane exited:"; cat "$LOG"; exit 1; fi
  sleep 0.1
done

echo "== nscale control plane on SQLite ($DIR/data/nscale.db); admin token in $DIR/data/admin.token"
echo "== nscalectl status --detail"
"$BIN/nscalectl" --token-file data/admin.token status --detail
echo
if [ "${NSCALE_DEMO_EXIT:-0}" = 1 ]; then exit 0; fi
echo "== the control plane keeps running (API 127.0.0.1:7080, ops 127.0.0.1:7090); Ctrl-C stops it"
wait $CP
