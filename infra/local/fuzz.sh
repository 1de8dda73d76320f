#!/usr/bin/env bash
# `make fuzz` (part of `make test`): schemathesis against the local server, every operation
# of the OpenAPI document it serves, on a DynamoDB Local of its own.
#   pass 1: generated ids (malformed and unknown ones included);
#   pass 2: path ids fixed to seeded resources (infra/local/fuzz-seed.py), so fuzzed bodies
#           and queries reach the handlers' logic.
# Fails on any 5xx, any response the document does not allow (status, content type, headers,
# body schema), schema-invalid input accepted, a missing Allow on 405, auth ignored — and on
# a panic in the server log. `positive_data_acceptance` is off: schema-valid requests can
# still break documented cross-field rules (to before from, a range over the limit, a
# pickup outside the period, If-Match of another version), which are 400/409/412 by design.
#
#   FUZZ_EXAMPLES  examples per operation and phase (default 25)
#   FUZZ_SEED      hypothesis seed (default 20261123: the same cases every run)
#   infra/local/fuzz.sh install   only installs schemathesis (into .local/fuzz-venv)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
ST_VERSION=4.32.5
VENV=${FUZZ_VENV:-$ROOT/.local/fuzz-venv}
EXAMPLES=${FUZZ_EXAMPLES:-25}
SEED=${FUZZ_SEED:-20261123}

install() {
  if [ -x "$VENV/bin/st" ] && "$VENV/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION"; then
    return 0
  fi
  command -v python3 >/dev/null || { echo "python3 (with venv) is required for schemathesis" >&2; exit 1; }
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  echo "pip install schemathesis==$ST_VERSION (into $VENV)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "schemathesis==$ST_VERSION"
}

install
if [ "${1:-}" = install ]; then exit 0; fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cargo build -q -p local-server
mkdir -p .local
WORK=$(mktemp -d "$ROOT/.local/fuzz-run.XXXXXX")
DDB_PORT=$(free_port)
API_PORT=$(free_port)
PIDFILE=$WORK/dynamodb.pid
export DDB_LOG=$WORK/dynamodb.log
server_pid=
status=1
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  infra/local/dynamodb-local.sh stop "$PIDFILE"
  if [ "$status" = 0 ]; then rm -rf "$WORK"; else echo "fuzz: logs and reports kept in $WORK" >&2; fi
}
trap cleanup EXIT

infra/local/dynamodb-local.sh start "$DDB_PORT" > "$PIDFILE"
DYNAMODB_ENDPOINT="http://127.0.0.1:$DDB_PORT" PORT=$API_PORT LOCAL_DIR=$WORK RUST_LOG=warn \
  target/debug/local-server > "$WORK/server.log" 2>&1 &
server_pid=$!
BASE="http://127.0.0.1:$API_PORT"
for _ in $(seq 1 120); do
  if [ -s "$WORK/dev-api-key" ] && (exec 3<>"/dev/tcp/127.0.0.1/$API_PORT") 2>/dev/null; then break; fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.5
done
KEY=$(tr -d '\r\n' < "$WORK/dev-api-key")

run() {
  local name=$1; shift
  echo "--- schemathesis: $name ($EXAMPLES examples per operation, seed $SEED)"
  (cd "$WORK" && "$VENV/bin/st" "$@" run "$BASE/v1/openapi.json" \
    --header "X-API-Key: $KEY" \
    --checks all --exclude-checks positive_data_acceptance \
    --max-examples "$EXAMPLES" --seed "$SEED" \
    --workers 2 --request-timeout 30 --continue-on-failure \
    --phases examples,fuzzing,stateful --output-sanitize false \
    --no-color --warnings off \
    --report junit --report-dir "$WORK/report-$name")
}

failed=0
run generated-ids || failed=1
python3 infra/local/fuzz-seed.py "$BASE" "$KEY" "$WORK/seeded.toml"
run seeded-ids --config-file "$WORK/seeded.toml" || failed=1

if grep -n "panicked" "$WORK/server.log"; then
  echo "fuzz: the server panicked" >&2
  failed=1
fi
if [ "$failed" = 0 ]; then status=0; fi
exit "$status"
