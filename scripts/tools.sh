#!/usr/bin/env bash
# Installs the real components the tests use into a cache outside the clone,
# so a fresh clone and a second run are fast. Idempotent.
set -euo pipefail
CACHE=${NSCALE_CACHE:-$HOME/.cache/nscale}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$CACHE/bin"

VERSITYGW_VERSION=v1.8.0
STATICCHECK_VERSION=v0.8.2

if [ ! -x "$CACHE/bin/versitygw" ] || [ "$(cat "$CACHE/bin/.versitygw-version" 2>/dev/null)" != "$VERSITYGW_VERSION" ]; then
  echo "tools: building versitygw $VERSITYGW_VERSION into $CACHE/bin (a few minutes the first time)"
  GOBIN="$CACHE/bin" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
  echo "$VERSITYGW_VERSION" > "$CACHE/bin/.versitygw-version"
fi

if [ ! -x "$CACHE/bin/staticcheck" ]; then
  echo "tools: installing staticcheck $STATICCHECK_VERSION"
  GOBIN="$CACHE/bin" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" \
    || echo "tools: staticcheck did not install; make lint runs without it"
fi

# npm packages (independent Flight SQL client, DuckDB oracle) from the
# committed lockfile, installed into the cache and reused while it matches.
if [ -f "$ROOT/integration/js/package-lock.json" ]; then
  if ! command -v npm >/dev/null; then
    echo "tools: npm is missing; install Node.js and npm" >&2; exit 1
  fi
  JS="$CACHE/js"
  # npm ci would refuse the lockfile: optional bindings for other platforms
  # are not all on the registry. package.json pins exact versions, so
  # npm install from the lockfile gives the same tree.
  if ! cmp -s "$ROOT/integration/js/package-lock.json" "$JS/package-lock.committed" || [ ! -d "$JS/node_modules" ]; then
    echo "tools: npm install (locked, exact versions) into $JS"
    mkdir -p "$JS"
    cp "$ROOT/integration/js/package.json" "$ROOT/integration/js/package-lock.json" "$JS/"
    cp "$ROOT/integration/js/package-lock.json" "$JS/package-lock.committed"
    (cd "$JS" && npm install --no-audit --no-fund --loglevel=error)
  fi
fi
echo "tools: ready in $CACHE"
