#!/usr/bin/env bash
# make demo: the whole data path on the embedded default (SQLite, local
# files, local URL signer), no cloud account:
#   1. generate a deterministic sample data set (customers and date-partitioned
#      transactions as Parquet) under DIR/data/files/demo;
#   2. start the control plane and an agent on this machine;
#   3. create the tables and the policies with nscalectl sql;
#   4. run the same queries as an admin and as an EU analyst through the
#      agent's Arrow Flight SQL endpoint, and print both results;
#   5. stop both processes.
# Environment: NSCALE_DEMO_CUSTOMERS (default 1000000), NSCALE_DEMO_KEEP=1 to
# leave the processes running after the queries (Ctrl-C stops them).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-.demo}
CUSTOMERS=${NSCALE_DEMO_CUSTOMERS:-1000000}
BIN=${NSCALE_BIN:-$ROOT/bin}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
cd "$DIR"

# Fixed loopback ports unless told otherwise; refuse to start over a running demo.
API=${NSCALE_DEMO_API:-127.0.0.1:7080}
AGENT_API=${NSCALE_DEMO_AGENT_API:-127.0.0.1:7081}
OPS=${NSCALE_DEMO_OPS:-127.0.0.1:7090}
FLIGHT=${NSCALE_DEMO_FLIGHT:-127.0.0.1:7443}
AGENT_OPS=${NSCALE_DEMO_AGENT_OPS:-127.0.0.1:7444}

DATA="$DIR/data/files/demo"
if [ ! -f "$DATA/.complete-$CUSTOMERS" ]; then
  echo "== generating $CUSTOMERS customers and their transactions (deterministic) in $DATA"
  rm -rf "$DATA"
  (cd "$ROOT" && go run ./scripts/demodata --out "$DATA" --customers "$CUSTOMERS")
  touch "$DATA/.complete-$CUSTOMERS"
fi

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

"$BIN/nscale-controlplane" --api-listen "$API" --agent-api-listen "$AGENT_API" --ops-listen "$OPS" \
  --log-format text >controlplane.log 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  if [ -s data/admin.token ] && "$BIN/nscalectl" --server "http://$API" --token-file data/admin.token --timeout 2s status >/dev/null 2>&1; then break; fi
  if ! kill -0 "${PIDS[0]}" 2>/dev/null; then echo "control plane exited:"; cat controlplane.log; exit 1; fi
  sleep 0.1
done

# The agent needs no privileges and refuses root; a demo run as root (a
# container, CI) says so explicitly.
ROOTFLAG=()
if [ "$(id -u)" = 0 ]; then
  ROOTFLAG=(--allow-root)
  echo "== running as root: starting the agent with --allow-root (on a real node it runs as its own user)"
fi
# The agent enrols with a one-time join token (a node's bootstrap does this
# on a real cluster) and trusts the control plane's agent CA, which it
# created on first start.
"$BIN/nscalectl" --server "http://$API" --token-file data/admin.token agents join-token create --ttl 10m \
  | sed -n 1p > data/join-token  # sed reads it all: no SIGPIPE under pipefail
"$BIN/nscale-agent" run "${ROOTFLAG[@]}" --flight-listen "$FLIGHT" --ops-listen "$AGENT_OPS" \
  --socket "$DIR/agent.sock" --control-plane "$AGENT_API" --control-plane-ca-file data/agent-ca.crt \
  --join-token-file data/join-token --state-dir "$DIR/agent-state" --node-name demo-node \
  --log-format text >agent.log 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  if curl -fsS "http://$AGENT_OPS/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "${PIDS[1]}" 2>/dev/null; then echo "agent exited:"; cat agent.log; exit 1; fi
  sleep 0.1
done

ctl() { "$BIN/nscalectl" --server "http://$API" --token-file data/admin.token "$@"; }

echo "== creating the tables and the policies (nscalectl sql)"
if ! ctl sql "SHOW DATABASES" | grep -w demo >/dev/null; then
  ctl sql "
    CREATE DATABASE demo COMMENT 'sample customers and card transactions';
    CREATE EXTERNAL TABLE demo.customers STORED AS PARQUET LOCATION 'file://$DATA/customers/';
    CREATE EXTERNAL TABLE demo.transactions PARTITIONED BY (dt date) STORED AS PARQUET LOCATION 'file://$DATA/transactions/';
    GRANT ROLE catalog_admin TO USER ada;
    CREATE ROLE eu_analyst;
    GRANT SELECT ON TABLE demo.customers TO ROLE eu_analyst WHERE country IN ('AT','BE','DE','DK','ES','FI','FR','IE','IT','NL','PL','PT','SE');
    GRANT SELECT ON TABLE demo.transactions TO ROLE eu_analyst WHERE country IN ('AT','BE','DE','DK','ES','FI','FR','IE','IT','NL','PL','PT','SE');
    ALTER TABLE demo.customers ALTER COLUMN email SET MASK email_domain FOR ROLE eu_analyst;
    ALTER TABLE demo.customers ALTER COLUMN card_number SET MASK tokenize FOR ROLE eu_analyst;
    ALTER TABLE demo.transactions ALTER COLUMN card_number SET MASK tokenize FOR ROLE eu_analyst;
    GRANT ROLE eu_analyst TO USER ann;
  " >/dev/null
fi
ctl explain --user ann demo.customers

token() {
  ctl tokens create --user "$1" --ttl 1h --name demo | awk 'NR == 1 {print $1}' >"data/$1.token"  # awk reads it all: no SIGPIPE under pipefail
  chmod 600 "data/$1.token"
}
token ada
token ann

query() {
  "$BIN/nscalectl" --token-file "data/$1.token" query --agent "$FLIGHT" "$2"
}

Q1="SELECT id, name, email, country, card_number FROM demo.customers WHERE vip = true LIMIT 8"
Q2="SELECT tx_id, amount, currency, country, card_number FROM demo.transactions WHERE dt = '2024-05-03' AND amount > 900 LIMIT 8"
for q in "$Q1" "$Q2"; do
  echo
  echo "== $q"
  echo "-- as ada (catalog admin): every row, nothing masked"
  query ada "$q"
  echo "-- as ann (eu_analyst): EU rows only, emails masked, card numbers tokenized"
  query ann "$q"
done

echo
echo "== what the analyst cannot do"
echo "-- probing a masked value with WHERE matches nothing:"
query ann "SELECT id FROM demo.customers WHERE card_number LIKE '4%' LIMIT 3"
echo "-- a column outside the grant is refused:"
"$BIN/nscalectl" --token-file data/ann.token query --agent "$FLIGHT" "SELECT nope FROM demo.customers" 2>&1 || true

echo
echo "== the audit trail (last events)"
ctl audit --limit 6

if [ "${NSCALE_DEMO_KEEP:-0}" = 1 ]; then
  echo "== control plane http://$API, agent Flight SQL grpc://$FLIGHT (tokens in $DIR/data); Ctrl-C stops them"
  wait
fi
echo "== done; stopping the agent and the control plane"
