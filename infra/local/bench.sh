#!/usr/bin/env bash
# `make bench`: builds create-allotment, the hello-world lambda and the bench program in
# release, starts a DynamoDB Local of its own on a free loopback port (always stopped,
# as in test.sh), and runs every benchmark in one go. Figures: stdout and
# .local/bench-figures.md. BENCH_ITERATIONS, BENCH_CONTENTION_SECS, BENCH_COLD_RUNS and
# BENCH_ONLY (overhead,contention,hot,cold,cutoff,steps) shorten a run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
mkdir -p .local

# Two invocations: the function is built alone, so that its features (and size) are
# exactly those of a deployment build.
cargo build --release -p create-allotment
cargo build --release -p integration-tests --bin bench --bin hello-lambda
BIN=${CARGO_TARGET_DIR:-target}/release

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PIDFILE=.local/dynamodb-bench-$PORT.pid
export DDB_LOG=.local/dynamodb-bench-$PORT.log
status=1
cleanup() {
  infra/local/dynamodb-local.sh stop "$PIDFILE"
  if [ "$status" = 0 ]; then rm -f "$DDB_LOG"; fi
}
trap cleanup EXIT

infra/local/dynamodb-local.sh start "$PORT" > "$PIDFILE"
echo "DynamoDB Local (bench) on 127.0.0.1:$PORT, pid $(cat "$PIDFILE")" >&2
export DYNAMODB_ENDPOINT="http://127.0.0.1:$PORT"
"$BIN/bench" && status=0 || status=$?
exit "$status"
