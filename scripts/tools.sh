#!/usr/bin/env bash
# Installs the real components the tests use into a cache outside the clone,
# so a fresh clone and a second run are fast. Idempotent.
set -euo pipefail
CACHE=${NSCALE_CACHE:-$HOME/.cache/nscale}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$CACHE/bin"

VERSITYGW_VERSION=v1.8.0
STATICCHECK_VERSION=v0.8.2

# PostgreSQL 15 and MariaDB 10.11 from Debian's packages: the tests start
# their own throwaway servers from these binaries (internal/dbtest); no
# system-wide service is started or used.
need=()
[ -x /usr/lib/postgresql/15/bin/postgres ] && [ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
{ [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null; } && command -v mariadb-install-db >/dev/null || need+=(mariadb-server)
# ShellCheck (Debian package shellcheck) lints every shell script (make lint); systemd-analyze verifies
# the agent's unit that the node bootstrap writes (bootstrap tests).
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v systemd-analyze >/dev/null || need+=(systemd)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "tools: the tests need the Debian packages ${need[*]}; run as root: apt-get install -y ${need[*]}" >&2; exit 1
  fi
  echo "tools: apt-get install ${need[*]} (the tests start their own servers from them)"
  # Keep the packages' maintainer scripts from starting system services.
  made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
# PostgreSQL refuses to run as root: as root, the tests run it as nscale-test.
if [ "$(id -u)" = 0 ] && ! id nscale-test >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin nscale-test
fi

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
# Python clients and tools (PySpark, pyarrow, ADBC, DuckDB, schemathesis):
# a venv in the cache, rebuilt only when the committed lock changes.
REQ="$ROOT/integration/python/requirements.txt"
VENV="$CACHE/venv"
if ! cmp -s "$REQ" "$VENV/requirements.committed" 2>/dev/null || [ ! -x "$VENV/bin/python" ]; then
  command -v python3 >/dev/null || { echo "tools: python3 is missing; install Python 3.11" >&2; exit 1; }
  echo "tools: creating the Python venv $VENV from integration/python/requirements.txt (about 1 GB the first time)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  cp "$REQ" "$VENV/requirements.committed"
fi

# The Arrow Flight SQL JDBC driver, from Maven Central, checked by sha256.
JDBC_VERSION=18.3.0
JDBC_SHA256=3f418b46c880e263558c5de669bdbede2c5d4375527ced116fb29f795b03704c
JAR="$CACHE/jars/flight-sql-jdbc-driver-$JDBC_VERSION.jar"
if [ ! -f "$JAR" ] || ! echo "$JDBC_SHA256  $JAR" | sha256sum --check --status; then
  echo "tools: downloading flight-sql-jdbc-driver $JDBC_VERSION into $CACHE/jars"
  mkdir -p "$CACHE/jars"
  curl -fsSL --retry 3 -o "$JAR.part" \
    "https://repo.maven.apache.org/maven2/org/apache/arrow/flight-sql-jdbc-driver/$JDBC_VERSION/flight-sql-jdbc-driver-$JDBC_VERSION.jar"
  if ! echo "$JDBC_SHA256  $JAR.part" | sha256sum --check --status; then
    echo "tools: flight-sql-jdbc-driver-$JDBC_VERSION.jar does not match its pinned sha256" >&2; rm -f "$JAR.part"; exit 1
  fi
  mv "$JAR.part" "$JAR"
fi
command -v java >/dev/null || { echo "tools: java is missing; Spark needs Java 17 (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }

bash "$ROOT/scripts/k8s-tools.sh"  # kube-apiserver, etcd, kube-controller-manager, kube-scheduler, kwok for the Kubernetes tests
echo "tools: ready in $CACHE"
