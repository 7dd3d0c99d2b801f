# teachstream — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help setup stack-up stack-down stack-status demo test test-unit lint bench chaos hostile eval-redaction eval-screens agent-package clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-13s %s\n", $$1, $$2}'

setup: $(STAMP) ## System packages (apt, when missing), the venv in .venv, Python deps
	@deploy/local/system-packages.sh

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

stack-up: setup ## Start Kafka, S3, topics, bucket and the pipeline workers; writes .stack/env (SECURE=1: TLS, SASL/SCRAM, ACLs)
	@deploy/local/stack.sh up

stack-down: ## Stop the local stack (data in .stack/data is kept)
	@deploy/local/stack.sh down

stack-status: ## Say what parts of the local stack run
	@deploy/local/stack.sh status

demo: stack-up ## Run the pipeline end to end on the local stack and show what landed in S3
	@set -a && . .stack/env && set +a && $(PY) -m teachstream.demo $$(test -f .stack/env.agent && echo --agent-env .stack/env.agent)

test: setup ## Unit tests and integration tests on the real local stack (started if needed)
	$(PY) -m pytest

test-unit: setup ## Only the fast unit tests of the pure core
	$(PY) -m pytest tests/unit

lint: setup ## ruff, mypy --strict and the import contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: stack-up ## Benchmarks on the local stack; writes BENCHMARKS.md (BENCH_COLD=0 skips the cold start)
	@set -a && . .stack/env && set +a && $(PY) -m bench.run

chaos: setup ## Faults under load on its own three-broker stack (.stack/chaos), each checked against a ledger; prints the table
	$(PY) -m bench.chaos

hostile: stack-up ## Hostile records of every kind (and a million-key burst) into the local stack; every one accounted for
	@set -a && . .stack/env && set +a && $(PY) -m bench.hostile --metrics http://127.0.0.1:$$(( $$(cat .stack/ports) + 50 ))/metrics

eval-redaction: setup ## PII detection against Presidio on a generated, labeled set (precision, recall, F2)
	$(PY) -m bench.redaction_eval

eval-screens: setup ## Screen redaction against full-frame OCR on a generated set (recall, kept text, CPU per frame)
	$(PY) -m bench.screens_eval --out bench-out/screens_eval.md

agent-package: setup ## The agent as an installable package: dist/teachstream-agent-<version>-<os>-<arch>.tar.gz
	PY=$(PY) deploy/package/build.sh

clean: stack-down ## Stop the stack and remove its data and the venv
	rm -rf .stack $(VENV)
