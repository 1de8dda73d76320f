#!/usr/bin/env bash
# `make dev`: DynamoDB Local on 127.0.0.1:$DYNAMODB_PORT (data kept under .local/),
# then the local server on 127.0.0.1:$PORT. Stops what it started on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
PORT=${PORT:-3000}
mkdir -p .local
infra/local/dynamodb-local.sh install
if (exec 3<>"/dev/tcp/127.0.0.1/$DYNAMODB_PORT") 2>/dev/null; then
  echo "Using the DynamoDB Local already answering on 127.0.0.1:$DYNAMODB_PORT"
else
  export DDB_LOG=.local/dynamodb-dev.log
  infra/local/dynamodb-local.sh start "$DYNAMODB_PORT" .local/dynamodb-data > .local/dynamodb-dev.pid
  trap 'infra/local/dynamodb-local.sh stop .local/dynamodb-dev.pid' EXIT
  echo "DynamoDB Local on 127.0.0.1:$DYNAMODB_PORT (data in .local/dynamodb-data)"
fi
DYNAMODB_ENDPOINT="http://127.0.0.1:$DYNAMODB_PORT" PORT="$PORT" cargo run -q -p local-server
