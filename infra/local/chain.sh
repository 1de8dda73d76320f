#!/usr/bin/env bash
# `make chain`: the story of the samples (events/chain.json) through the Lambda functions
# themselves, on any date: every step is `cargo lambda invoke <function>` of its sample
# event (dates moved to today, the ids created by earlier steps, a fresh key) against
# `cargo lambda watch`, each answer checked (status and key fields), the story printed.
# Everything runs on its own: a DynamoDB Local in memory on a free port, the table and a key
# (tenant `demo`) from the admin tool, cargo lambda watch on a free port; all stopped at
# the end, whatever happens. `make dev` need not run (and is not touched).
#
#   infra/local/chain.sh            the chain (installs cargo-lambda into .local/lambda-venv)
#   infra/local/chain.sh install    only installs the pinned cargo-lambda
#   CHAIN_KEEP=1                    keep the run's folder (watch and DynamoDB logs)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CARGO_LAMBDA_VERSION=1.9.2
VENV=${LAMBDA_VENV:-$ROOT/.local/lambda-venv}
CARGO_LAMBDA=$VENV/bin/cargo-lambda

install() {
  if [ -x "$CARGO_LAMBDA" ] && "$CARGO_LAMBDA" lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
    return 0
  fi
  command -v python3 >/dev/null || { echo "python3 (with venv) is required for cargo-lambda" >&2; exit 1; }
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  echo "pip install cargo-lambda==$CARGO_LAMBDA_VERSION (into $VENV)"
  # --no-deps: its one dependency, ziglang (400 MB), only serves cross-compiled builds
  # (`cargo lambda build`), not watch and invoke.
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps "cargo-lambda==$CARGO_LAMBDA_VERSION"
}

install
if [ "${1:-}" = install ]; then exit 0; fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

started=$(date +%s)
mkdir -p .local
WORK=$(mktemp -d "$ROOT/.local/chain-run.XXXXXX")
DDB_PORT=$(free_port)
INVOKE_PORT=$(free_port)
PIDFILE=$WORK/dynamodb.pid
export DDB_LOG=$WORK/dynamodb.log
watch_pid=
status=1
cleanup() {
  if [ -n "$watch_pid" ]; then
    # cargo lambda watch runs each function as its own child process: stop the group
    # it leads (started with setsid below), then the DynamoDB Local of this run.
    kill -TERM -- "-$watch_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 -- "-$watch_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$watch_pid" 2>/dev/null || true
  fi
  infra/local/dynamodb-local.sh stop "$PIDFILE"
  if [ "$status" = 0 ] && [ -z "${CHAIN_KEEP:-}" ]; then
    rm -rf "$WORK"
  else
    echo "chain: logs kept in $WORK (watch.log: the functions' own log lines)" >&2
  fi
}
trap cleanup EXIT

# Every function of the samples (one event per function), built once up front: cargo
# lambda watch would otherwise compile each on its first invocation.
functions=$(cd events && ls *.json | sed 's/\.json$//' | grep -vx chain)
packages=()
for f in $functions; do packages+=(-p "$f"); done
echo "Building the admin tool and the $(echo "$functions" | wc -w) functions (debug, as cargo lambda watch runs them)"
cargo build -q -p admin "${packages[@]}"

infra/local/dynamodb-local.sh start "$DDB_PORT" > "$PIDFILE"
export DYNAMODB_ENDPOINT="http://127.0.0.1:$DDB_PORT" TABLE_NAME=allotments
# Creates the table (from infra/template.yaml) and a read+write key of tenant `demo`.
KEY=$(target/debug/admin key create --tenant demo)

setsid "$CARGO_LAMBDA" lambda watch --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" \
  --ignore-changes --env-var "TABLE_NAME=$TABLE_NAME,DYNAMODB_ENDPOINT=$DYNAMODB_ENDPOINT,RUST_LOG=warn" \
  > "$WORK/watch.log" 2>&1 &
watch_pid=$!
for _ in $(seq 1 150); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$INVOKE_PORT") 2>/dev/null; then break; fi
  kill -0 "$watch_pid" 2>/dev/null || { cat "$WORK/watch.log" >&2; exit 1; }
  sleep 0.2
done
echo "cargo lambda watch on 127.0.0.1:$INVOKE_PORT, DynamoDB Local on 127.0.0.1:$DDB_PORT (ready after $(( $(date +%s) - started )) s)"
echo

python3 infra/local/chain.py run --key "$KEY" --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" \
  --cargo-lambda "$CARGO_LAMBDA" && status=0 || status=$?
echo "make chain: $(( $(date +%s) - started )) s in all"
exit "$status"
