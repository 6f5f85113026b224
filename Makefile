# cellrouter: `make demo` and `make test` set up everything they need.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.cellrouter-installed-dev
DEMO_DIR ?= state/demo

.PHONY: setup proto test tempest demo demo-down bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/bootstrap.sh
	@scripts/bootstrap.sh

# Regenerate the wire code in cellrouter/v1 from proto/ (it is committed;
# tests/unit/test_proto_fresh.py fails when it is out of date).
proto: setup
	$(PY) -m grpc_tools.protoc -Iproto --python_out=. --grpc_python_out=. --pyi_out=. \
		proto/cellrouter/v1/cells.proto

test: setup
	$(PY) -m pytest -q -p no:cacheprovider

# OpenStack's Tempest (compute, identity and network API tests) against a tree with its
# API, alone (make test runs it too: tests/integration/test_tempest_suite.py).
# TEMPEST_ARGS: --regex R, --concurrency N, --keep DIR (tests/tempest_run/run.py).
TEMPEST_ARGS ?= --concurrency 2
tempest: setup
	$(PY) -m tests.tempest_run.run $(TEMPEST_ARGS)

demo: setup
	@scripts/demo.sh "$(DEMO_DIR)"

demo-down:
	@scripts/demo.sh --down "$(DEMO_DIR)"

bench: setup
	$(PY) -m tests.bench.bench_index
	$(PY) -m tests.bench.bench_selection
	$(PY) -m tests.bench.bench_routing
	$(PY) -m tests.bench.bench_boots
	$(PY) -m tests.bench.bench_api
	$(PY) -m tests.bench.bench_replicas
	$(PY) -m tests.bench.bench_agents
	$(PY) -m tests.bench.bench_notify
	$(PY) -m tests.bench.bench_ports
	$(PY) -m tests.bench.bench_restarts
	$(PY) -m tests.bench.bench_libvirt
	$(PY) -m tests.bench.bench_ovirt
	$(PY) -m tests.bench.bench_soak

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) state .pytest_cache .mypy_cache .ruff_cache
