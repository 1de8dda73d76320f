#!/usr/bin/env bash
# Runs every Rust test against a DynamoDB Local of its own (in memory, on a free
# loopback port), and always stops it, whatever the tests do.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
mkdir -p .local
PORT=${DYNAMODB_TEST_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
PIDFILE=.local/dynamodb-test.pid
export DDB_LOG=.local/dynamodb-test.log
infra/local/dynamodb-local.sh start "$PORT" > "$PIDFILE"
trap 'infra/local/dynamodb-local.sh stop "$PIDFILE"' EXIT
echo "DynamoDB Local (tests) on 127.0.0.1:$PORT"
DYNAMODB_ENDPOINT="http://127.0.0.1:$PORT" cargo test --workspace "$@"
