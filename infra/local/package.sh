#!/usr/bin/env bash
# `make package`: every function of infra/template.yaml built for Lambda in ONE
# `cargo lambda build --release` (dependencies compiled once, the binaries linked side by
# side), then laid out as `sam build` lays out its output: infra/.aws-sam/build/template.yaml,
# the template with each function's CodeUri at its own directory holding its `bootstrap`.
# `cd infra && sam deploy` picks that template up and uploads the artifacts as they are.
# (`sam build` with BuildMethod rust-cargolambda gets the same result one function at a time.)
#
#   ARCH=arm64 (default) or x86_64: deploy with the same Architecture parameter.
# Fails unless every function has a bootstrap of the asked architecture.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
ARCH=${ARCH:-arm64}
case "$ARCH" in
  arm64) target=aarch64-unknown-linux-gnu; flag=--arm64 ;;
  x86_64) target=x86_64-unknown-linux-gnu; flag=--x86-64 ;;
  *) echo "ARCH must be arm64 or x86_64, not $ARCH" >&2; exit 2 ;;
esac
OUT=$ROOT/infra/.aws-sam/build

infra/local/tools.sh install sam
SAM_BIN=$(infra/local/tools.sh path sam)
export PATH="$SAM_BIN:$PATH" # cargo-lambda, and its zig (python -m ziglang)
PY=$SAM_BIN/python

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target"
fi

# Binary name and logical id of every function, from the template.
mapfile -t FUNCTIONS < <("$PY" - <<'EOF'
from samcli.yamlhelper import yaml_parse
doc = yaml_parse(open("infra/template.yaml").read())
for logical, r in doc["Resources"].items():
    if r["Type"] == "AWS::Serverless::Function":
        print(r["Metadata"]["BuildProperties"]["Binary"], logical)
EOF
)
packages=()
for f in "${FUNCTIONS[@]}"; do packages+=(-p "${f%% *}"); done
echo "cargo lambda build --release $flag: ${#FUNCTIONS[@]} functions"
cargo lambda build --release "$flag" "${packages[@]}"

rm -rf "$OUT"
mkdir -p "$OUT"
for f in "${FUNCTIONS[@]}"; do
  bin=${f%% *} logical=${f##* }
  mkdir -p "$OUT/$logical"
  cp "target/lambda/$bin/bootstrap" "$OUT/$logical/bootstrap"
done

ARCH=$ARCH "$PY" - "$OUT" <<'EOF'
import os, sys
from samcli.yamlhelper import yaml_parse, yaml_dump
out = sys.argv[1]
doc = yaml_parse(open("infra/template.yaml").read())
doc["Globals"]["Function"].pop("CodeUri", None)
machine = {"arm64": 183, "x86_64": 62}[os.environ["ARCH"]]
count = 0
for logical, r in doc["Resources"].items():
    if r["Type"] != "AWS::Serverless::Function":
        continue
    meta = r["Metadata"]
    meta.pop("BuildMethod", None)
    meta.pop("BuildProperties", None)
    r["Properties"]["CodeUri"] = logical
    with open(os.path.join(out, logical, "bootstrap"), "rb") as f:
        head = f.read(20)
    if head[:4] != b"\x7fELF" or int.from_bytes(head[18:20], "little") != machine:
        sys.exit(f"{logical}/bootstrap is not a {os.environ['ARCH']} ELF executable")
    count += 1
with open(os.path.join(out, "template.yaml"), "w") as f:
    f.write(yaml_dump(doc))
print(f"{count} {os.environ['ARCH']} bootstrap files, template {out}/template.yaml")
EOF
du -sh "$OUT" | sed 's/\t/ /'
# The template as sam deploy will read it.
"$SAM_BIN/sam" validate --lint -t "$OUT/template.yaml" --region eu-west-1
echo "deploy: cd infra && sam deploy   (first time: sam deploy --guided)"
