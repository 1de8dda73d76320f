#!/usr/bin/env bash
# `make dev`: all set-up on a fresh machine, then the API.
#  - installs DynamoDB Local if missing (infra/local/dynamodb-local.sh install);
#  - starts it on 127.0.0.1:$DYNAMODB_PORT (default 8000) keeping its data under
#    .local/dynamodb-data, unless something already answers on that port (then uses it);
#  - runs the local server on 127.0.0.1:$PORT (default 3000): it creates the table,
#    ensures the `demo` tenant key, prints it and writes .local/dev-api-key.
# When the server exits (Ctrl-C), the DynamoDB Local this script started is stopped.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
PORT=${PORT:-3000}
PIDFILE=.local/dynamodb-dev.pid
mkdir -p .local

if (exec 3<>"/dev/tcp/127.0.0.1/$DYNAMODB_PORT") 2>/dev/null; then
  echo "Using the DynamoDB Local already answering on 127.0.0.1:$DYNAMODB_PORT"
else
  infra/local/dynamodb-local.sh install
  export DDB_LOG=.local/dynamodb-dev.log
  # bash runs the EXIT trap however it ends (server exit, Ctrl-C, TERM). DynamoDB Local,
  # started in the background without job control, ignores the terminal's Ctrl-C and
  # keeps its data consistent until the trap stops it.
  trap 'infra/local/dynamodb-local.sh stop "$PIDFILE"' EXIT
  infra/local/dynamodb-local.sh start "$DYNAMODB_PORT" .local/dynamodb-data > "$PIDFILE"
  echo "DynamoDB Local on 127.0.0.1:$DYNAMODB_PORT (pid $(cat "$PIDFILE"), data in .local/dynamodb-data, log $DDB_LOG)"
fi

export DYNAMODB_ENDPOINT="http://127.0.0.1:$DYNAMODB_PORT" PORT
# Not `exec`: the EXIT trap must run after the server exits.
cargo run -q -p local-server
