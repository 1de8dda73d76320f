# Allotments: the commands of the README. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export CARGO_TERM_COLOR ?= never

.PHONY: help dev test lint fmt rust-test infra-lint build-lambdas invoke

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

dev: ## Install and start DynamoDB Local, create the table, serve the API on :3000 (PORT, DYNAMODB_PORT)
	@infra/local/dev.sh

test: lint rust-test infra-lint ## Everything: fmt, clippy, every test on its own DynamoDB Local, template checks

lint: ## cargo fmt --check and clippy -D warnings
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	cargo fmt --all

rust-test: ## Unit, store, handler and HTTP tests (starts and stops DynamoDB Local)
	@infra/local/test.sh

infra-lint: ## cfn-lint and checkov on infra/template.yaml (and sam validate when installed)
	cfn-lint infra/template.yaml
	checkov -f infra/template.yaml --framework cloudformation --skip-download --quiet --compact
	@if command -v sam >/dev/null; then sam validate --lint -t infra/template.yaml --region eu-west-1; fi

build-lambdas: ## Release build of every function for Lambda (arm64)
	cargo lambda build --release --arm64

invoke: ## cargo lambda invoke FN=<function> with its events/ sample and the dev key (needs `cargo lambda watch`)
	@test -n "$(FN)" || { echo "usage: make invoke FN=get-establishment"; exit 2; }
	@mkdir -p .local/events
	@sed "s/REPLACE_WITH_API_KEY/$$(cat .local/dev-api-key)/" events/$(FN).json > .local/events/$(FN).json
	cargo lambda invoke $(FN) --data-file .local/events/$(FN).json
