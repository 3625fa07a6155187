# Two commands matter on a fresh machine: `make up` and `make test`. Both build .venv first.
STACK ?= dev
TARGET ?= offline
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)

.PHONY: up test app bench lint docs policy services browser venv checkov-venv clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

## up: the offline engine for STACK (default), or the real `pulumi up` with TARGET=aws,
##     after a preflight that refuses placeholder values and a caller without cluster access
up: venv
ifeq ($(TARGET),aws)
	$(PY) -m infra.preflight --stack $(STACK)
	pulumi up --stack $(STACK)
else ifeq ($(TARGET),offline)
	$(PY) -m infra.offline up --stack $(STACK)
else
	$(error TARGET must be offline or aws, not '$(TARGET)')
endif

## policy: the policy pack over STACK's offline resource graph (exit 1 on a mandatory violation)
policy: venv
	$(PY) -m infra.policies.offline --stack $(STACK)

## checkov-venv: checkov in a virtualenv of its own (its pins clash with ours); the tests build it too
checkov-venv: .venv-checkov/bin/checkov
.venv-checkov/bin/checkov:
	python3 -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet checkov==3.3.30

## services: install (when missing) and start PostgreSQL and Redis on 127.0.0.1, and assemble Kafka's jars (KAFKA=1: also a broker on :9092)
services:
	bash scripts/services.sh $(if $(KAFKA),--kafka)

## browser: install (when missing) Debian's Chromium and the browser tests' npm packages
browser:
	bash scripts/browser.sh

## test: every test
test: venv services browser
	$(PY) -m pytest -q

## app: run the sample app locally (API, relay, four workers, a local Kafka broker) against this
##      machine's PostgreSQL and Redis, follow one order to fulfilled, then serve the storefront
##      at the URL it prints until Ctrl-C
app: venv services
	$(PY) -m app.dev.run --serve

## bench: the API benchmark (latency percentiles, throughput, cache hit ratio); see docs/app.md
bench: venv services
	$(PY) tests/benchmarks/bench_api.py

## docs: regenerate docs/configuration.md from the settings classes
docs: venv
	$(PY) -m infra.config_docs > docs/configuration.md

## lint: ruff (lint and format) and mypy over the whole tree
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy infra app

clean:
	rm -rf out $(VENV) .venv-checkov
