# Allotments: the commands of the README. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# `make -j test` must still run fmt, clippy, the tests and the template checks in order.
.NOTPARALLEL:
export CARGO_TERM_COLOR ?= never
export SAM_CLI_TELEMETRY ?= 0

TEMPLATE := infra/template.yaml

.PHONY: help dev test lint fmt rust-test fuzz tools infra-lint package build-lambdas invoke bench

help: ## List the targets
	@echo "Targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

dev: ## Install and start DynamoDB Local (:8000, DYNAMODB_PORT), create the table, serve the API on :3000 (PORT)
	@infra/local/dev.sh

test: lint rust-test fuzz infra-lint ## Everything: fmt, clippy, every test on its own DynamoDB Local, schemathesis, template checks

lint: ## cargo fmt --check and clippy -D warnings
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	cargo fmt --all

rust-test: ## Every Rust test on a DynamoDB Local of its own (free port, or DYNAMODB_TEST_PORT), always stopped
	@infra/local/test.sh

fuzz: ## schemathesis (pinned, in .local/fuzz-venv) on every operation of the local server: no 5xx, nothing the OpenAPI document forbids
	@infra/local/fuzz.sh

tools: ## Install the pinned template and Lambda tools (cfn-lint, checkov, aws-sam-cli, cargo-lambda, zig) into .local/tools
	@infra/local/tools.sh install

infra-lint: tools ## cfn-lint, checkov and sam validate --lint on the template (pinned, from .local/tools)
	infra/local/tools.sh run cfn-lint $(TEMPLATE)
	infra/local/tools.sh run checkov -f $(TEMPLATE) --framework cloudformation --skip-download --quiet --compact
	infra/local/tools.sh run sam validate --lint -t $(TEMPLATE) --region eu-west-1

bench: ## Benchmarks (round trips, handler overhead, contention, hot items, cold start, size, cutoff, holds in steps) on a DynamoDB Local of its own; see BENCHMARKS.md
	@infra/local/bench.sh

package: ## Every function built for Lambda (ARCH=arm64|x86_64) in one cargo lambda build, laid out in infra/.aws-sam/build for `cd infra && sam deploy`
	@infra/local/package.sh

build-lambdas: package ## Same as package

invoke: ## FN=<function>: cargo lambda invoke of events/FN.json moved to today, with the dev key and the ids earlier invokes created (run `cargo lambda watch` first)
	@test -n "$(FN)" || { echo "usage: make invoke FN=get-establishment   (one of: $$(cd events && ls *.json | grep -vx chain.json | sed 's/\.json$$//' | tr '\n' ' '))" >&2; exit 2; }
	@test -f "events/$(FN).json" -a "$(FN)" != chain || { echo "no sample event events/$(FN).json" >&2; exit 2; }
	@if grep -q REPLACE_WITH_API_KEY "events/$(FN).json"; then \
	  test -s .local/dev-api-key || { echo "no .local/dev-api-key: run \`make dev\` once first" >&2; exit 2; }; \
	fi
	@python3 infra/local/chain.py invoke "$(FN)" --state .local/invoke-state.json \
	  --key "$$(tr -d '\r\n' < .local/dev-api-key 2>/dev/null || true)" \
	  $(if $(INVOKE_PORT),--invoke-port $(INVOKE_PORT))

.PHONY: chain
chain: ## The samples' story (events/chain.json) through cargo lambda watch + invoke, on its own DynamoDB Local, every answer checked
	@infra/local/chain.sh
