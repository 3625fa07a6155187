# Two commands matter on a fresh machine: `make up` and `make test`. Both build .venv first.
# `make` alone lists the targets. Each target's `## target: description` line is its help.
STACK ?= dev
TARGET ?= offline
STACKS_DIR ?= stacks
TEST_WORKERS ?= 2
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VERSION := 3.3.30
export PYTHONPATH := $(CURDIR)
SHELL := /bin/bash

.DEFAULT_GOAL := help
.PHONY: help up test app bench loadtest chaos lint docs policy services browser venv checkov-venv clean

## help: list every target with its description (the default target)
help:
	@awk -F': ' '/^## [a-z-]+: / { sub(/^## /, "", $$1); printf "  make %-14s %s\n", $$1, $$2; next } \
		/^##  / { sub(/^## */, ""); printf "  %-19s %s\n", "", $$0 }' $(MAKEFILE_LIST)
	@echo "  Variables: STACK=$(STACK) (dev, staging, prod), TARGET=$(TARGET) (offline or aws)"

$(VENV)/.installed: requirements.txt app/requirements.txt app/requirements-dev.txt
	@start=$$(date +%s); \
	echo "venv: building $(VENV) from requirements.txt (pulumi, pulumi-aws, moto, the app's libraries)"; \
	echo "venv: usually about 75 s the first time (minutes on a busy machine), mostly pip fetching about 400 MB; later runs skip it"; \
	test -x $(PY) || python3 -m venv $(VENV) || exit $$?; \
	echo "venv: [1/2] upgrading pip"; \
	$(PY) -m pip install --quiet --upgrade pip || exit $$?; \
	echo "venv: [2/2] installing the pinned packages (pip lists each one as it goes)"; \
	$(PY) -m pip install --progress-bar off -r requirements.txt | sed -un -E 's/^Collecting ([^ ]+).*/  collecting \1/p; s/^Successfully (.{0,100}).*/  \1 .../p' ; \
	status=$${PIPESTATUS[0]}; [ "$$status" -eq 0 ] || exit $$status; \
	touch $@; echo "venv: ready in $$(( $$(date +%s) - start )) s"

## venv: the project's virtualenv (.venv), built from requirements.txt when it is missing or stale
venv: $(VENV)/.installed

## up: the offline engine for STACK (default), or the real `pulumi up` with TARGET=aws,
##     after a preflight that refuses placeholder values and a caller without cluster access
up: venv
ifeq ($(TARGET),aws)
	@$(PY) -m infra.preflight --stack $(STACK)
	@exec pulumi up --stack $(STACK)
else ifeq ($(TARGET),offline)
	@exec $(PY) -m infra.offline up --stack $(STACK) --stacks-dir $(STACKS_DIR)
else
	$(error TARGET must be offline or aws, not '$(TARGET)')
endif

## policy: the policy pack over STACK's offline resource graph (exit 1 on a mandatory violation)
policy: venv
	@exec $(PY) -m infra.policies.offline --stack $(STACK)

## checkov-venv: checkov in a virtualenv of its own (.venv-checkov; its pins clash with ours)
checkov-venv: .venv-checkov/bin/checkov
.venv-checkov/bin/checkov:
	@start=$$(date +%s); \
	echo "checkov-venv: building .venv-checkov with checkov $(CHECKOV_VERSION) for the manifest scan in make test"; \
	echo "checkov-venv: this takes about 40 s, once"; \
	python3 -m venv .venv-checkov && .venv-checkov/bin/pip install --quiet checkov==$(CHECKOV_VERSION) || exit $$?; \
	echo "checkov-venv: ready in $$(( $$(date +%s) - start )) s"

## services: install (when missing) and start PostgreSQL and Redis on 127.0.0.1, and assemble Kafka's jars (KAFKA=1: also a broker on :9092)
services:
	@bash scripts/services.sh $(if $(KAFKA),--kafka)

## browser: install (when missing) Debian's Chromium and the browser tests' npm packages
browser:
	@bash scripts/browser.sh

## test: every test, on TEST_WORKERS pytest-xdist workers (default 2; 0 runs them in one process)
test: venv checkov-venv services browser
	@exec $(PY) -m pytest -q -n $(TEST_WORKERS)

## app: run the sample app locally (API, relay, four workers, a local Kafka broker) against this
##      machine's PostgreSQL and Redis, follow one order to fulfilled, then serve the storefront
##      at the URL it prints until Ctrl-C
app: venv services
	@exec $(PY) -m app.dev.run --serve

## bench: the pipeline benchmark (docs/benchmarks.md, docs/bench/*.json); QUICK=1: the CI smoke run
bench: venv services
	$(PY) -m bench $(if $(QUICK),--quick)

## loadtest: Locust, headless, against URL (a stack's CloudFront URL, or a local API) with PROFILE
##           (steady, ramp, flash-sale, smoke); report under out/loadtest/<time>/, exit 1 on a broken SLO
PROFILE ?= steady
LOADTEST_OUT ?= out/loadtest
loadtest: venv
	$(if $(URL),,$(error URL is required: make loadtest URL=https://<cdnDomainName> PROFILE=$(PROFILE)))
	$(PY) -m loadtest --url $(URL) --profile $(PROFILE) --out $(LOADTEST_OUT) $(if $(TOKEN_PROVIDER),--token-provider $(TOKEN_PROVIDER))


## chaos: each fault (broker, worker, member change, PostgreSQL, Redis, replica, API SIGTERM) under
##        bounded load on loopback; prints lost/doubled/stuck per fault and records docs/reliability.md.
##        QUICK=1: 30 orders per fault (what CI runs, as tests/app/chaos)
CHAOS_ORDERS := $(if $(QUICK),30,300)
chaos: venv services
	$(PY) -m app.dev.chaos --orders $(CHAOS_ORDERS) $(if $(QUICK),,--record)

## docs: regenerate docs/configuration.md and the architecture diagram (needs Graphviz's dot)
docs: venv
	@command -v dot >/dev/null || { echo "docs: Graphviz's dot is missing: apt-get install -y graphviz (Debian package graphviz)" >&2; exit 1; }
	$(PY) -m infra.config_docs > docs/configuration.md
	$(PY) -m infra.diagram --stack prod --out docs/architecture

## lint: ruff (lint and format) and mypy over the whole tree
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy infra app loadtest bench

## clean: remove out/ and both virtualenvs
clean:
	rm -rf out $(VENV) .venv-checkov
