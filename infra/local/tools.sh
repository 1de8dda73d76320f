#!/usr/bin/env bash
# The pinned Python tools of the template checks and of the Lambda build, each set in its own
# virtualenv under .local/tools/ (as `make fuzz` keeps schemathesis in .local/fuzz-venv):
#   sam      aws-sam-cli + cfn-lint (sam validate --lint runs cfn-lint), cargo-lambda and
#            ziglang (cargo-lambda's cross linker for arm64)
#   checkov  checkov (its pins of boto3 and friends clash with aws-sam-cli's, so apart)
# A set is (re)installed when missing or when its pins below change; otherwise nothing is
# fetched. Needs python3 with venv (Debian: apt-get install python3-venv; `.ci/run` does it).
#
#   infra/local/tools.sh install [sam|checkov]...   install the sets (default: all)
#   infra/local/tools.sh path [sam|checkov]...      print their bin dirs, PATH-style
#   infra/local/tools.sh run <tool> [args...]       run a tool from its set (cfn-lint, sam, ...)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOOLS=${TOOLS_DIR:-$ROOT/.local/tools}
export SAM_CLI_TELEMETRY=${SAM_CLI_TELEMETRY:-0}

pins() {
  case "$1" in
    sam) echo "aws-sam-cli==1.170.0 cfn-lint==1.58.0 cargo-lambda==1.9.2 ziglang==0.17.1" ;;
    checkov) echo "checkov==3.3.30" ;;
    *) echo "unknown tool set: $1 (sam, checkov)" >&2; return 2 ;;
  esac
}

set_of() {
  case "$1" in
    sam | cfn-lint | cargo-lambda | python-zig) echo sam ;;
    checkov) echo checkov ;;
    *) echo "unknown tool: $1" >&2; return 2 ;;
  esac
}

install_set() {
  local name=$1 venv=$TOOLS/$1 want
  want=$(pins "$name")
  if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.pins" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  command -v python3 >/dev/null || { echo "python3 is required for the $name tools" >&2; exit 1; }
  python3 -c 'import ensurepip, venv' 2>/dev/null || {
    echo "python3 has no venv/ensurepip: install python3-venv (Debian/Ubuntu) first" >&2
    exit 1
  }
  rm -rf "$venv"
  mkdir -p "$TOOLS"
  python3 -m venv "$venv"
  echo "pip install $want (into $venv)"
  # shellcheck disable=SC2086 # the pins are words
  "$venv/bin/python" -m pip install -q --disable-pip-version-check $want
  echo "$want" > "$venv/.pins"
}

sets() { if [ $# -eq 0 ]; then echo sam checkov; else echo "$@"; fi; }

cmd=${1:-install}
shift || true
case "$cmd" in
  install)
    for s in $(sets "$@"); do install_set "$s"; done
    ;;
  path)
    out=
    for s in $(sets "$@"); do out=${out:+$out:}$TOOLS/$s/bin; done
    echo "$out"
    ;;
  run)
    tool=${1:?usage: tools.sh run <tool> [args...]}
    shift
    s=$(set_of "$tool")
    install_set "$s"
    # The set's bin first on PATH: cargo-lambda finds its zig (python -m ziglang) there.
    PATH="$TOOLS/$s/bin:$PATH" exec "$TOOLS/$s/bin/$tool" "$@"
    ;;
  *)
    echo "usage: infra/local/tools.sh install|path|run ..." >&2
    exit 2
    ;;
esac
