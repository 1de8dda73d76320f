#!/usr/bin/env bash
# `make rust-test` (part of `make test`): every Rust test against a DynamoDB Local of its
# own, in memory, on a free loopback port (DYNAMODB_TEST_PORT overrides). It is always
# stopped, whatever the tests do (failure, Ctrl-C, TERM); the exit status is cargo's.
# Extra arguments go to `cargo test --workspace`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
mkdir -p .local

free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    return
  fi
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port found" >&2
  return 1
}

PORT=${DYNAMODB_TEST_PORT:-$(free_port)}
# One pid file and log per port, so two runs side by side do not stop each other's.
PIDFILE=.local/dynamodb-test-$PORT.pid
export DDB_LOG=.local/dynamodb-test-$PORT.log

status=1
cleanup() {
  infra/local/dynamodb-local.sh stop "$PIDFILE"
  if [ "$status" = 0 ]; then rm -f "$DDB_LOG"; fi # kept when something failed
}
# bash runs the EXIT trap on a normal exit, on `set -e` and when INT/TERM/HUP kill it.
trap cleanup EXIT

infra/local/dynamodb-local.sh start "$PORT" > "$PIDFILE"
echo "DynamoDB Local (tests) on 127.0.0.1:$PORT, pid $(cat "$PIDFILE"), log $DDB_LOG"
export DYNAMODB_ENDPOINT="http://127.0.0.1:$PORT"
cargo test --workspace "$@" && status=0 || status=$?
exit "$status"
