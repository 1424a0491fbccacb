# Two commands on a fresh machine: `make studies` and `make test`. Both set up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .tools/bin
TOXIPROXY_TAG := v2.12.0
PARAMS ?= params/default.yaml
TEST_WORKERS ?= 2
export PATH := $(abspath $(TOOLS)):$(PATH)

.PHONY: setup python toxiproxy chromium faketime postgresql inspector containers wrk test studies lab bench lint clean

setup: python toxiproxy chromium faketime postgresql inspector containers

python: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

toxiproxy: $(TOOLS)/toxiproxy-server
$(TOOLS)/toxiproxy-server:
	@command -v go >/dev/null || { echo "Go is needed to build toxiproxy-server ($(TOXIPROXY_TAG)); install Go or set TOXIPROXY_URL" >&2; exit 1; }
	mkdir -p $(TOOLS)
	GOBIN=$(abspath $(TOOLS)) go install github.com/Shopify/toxiproxy/v2/cmd/server@$(TOXIPROXY_TAG)
	mv $(TOOLS)/server $@

# Static chart images (kaleido) need Debian's chromium; without it charts stay interactive only.
chromium:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for static chart images"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "warning: chromium not found and cannot install it; charts will be interactive only" >&2; fi

# The clock fault runs the unmodified server under Debian's libfaketime (LD_PRELOAD).
FAKETIME_LIB := /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
faketime:
	@if [ -e $(FAKETIME_LIB) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's libfaketime for the server clock fault"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime libfaketime >/dev/null; \
	else echo "warning: libfaketime not found and cannot install it; the clock fault will refuse to run" >&2; fi

# The PostgreSQL store and the replicas study: each run starts its own server with initdb
# (as the `postgres` user the package creates, when root), unless TASKSYNC_DATABASE_URL
# names one. Only the binaries are needed: the package's own cluster is left stopped.
postgresql:
	@if [ -n "$$TASKSYNC_DATABASE_URL" ] || command -v initdb >/dev/null \
	    || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's postgresql for the PostgreSQL store"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else echo "error: PostgreSQL (initdb) not found and cannot install it; install Debian's postgresql or set TASKSYNC_DATABASE_URL" >&2; exit 1; fi

# The MCP Inspector's command line (a client we did not write) drives `tasksync mcp` and /mcp
# in the tests; pinned, installed under .tools/ with npm (Node is needed, not a browser).
INSPECTOR_VERSION := 2.12.0
INSPECTOR := .tools/node_modules/.bin/mcp-inspector
inspector: $(INSPECTOR)
$(INSPECTOR):
	@command -v npm >/dev/null || { echo "npm is needed for the MCP Inspector CLI ($(INSPECTOR_VERSION)); install Node.js and npm" >&2; exit 1; }
	mkdir -p .tools
	npm install --prefix .tools --no-save --no-audit --no-fund --loglevel=error \
	  @modelcontextprotocol/inspector@$(INSPECTOR_VERSION)
	test -x $@ && touch $@

# The container target (-p target=container): a Docker engine (as root with apt-get and none
# answering: Debian's docker.io, dockerd started in the background) and the images, built
# here once each (no registry): Toxiproxy FROM scratch, Debian+Python, the tasksync server.
# Without an engine: a warning, and the container tests are skipped saying why.
containers: python
	$(BIN)/python -m syncbench.containers setup

# The create and memory benchmarks drive the server with wrk (C, on its own CPU).
wrk:
	@if command -v wrk >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's wrk for the benchmarks"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	else echo "error: wrk not found and cannot install it (not root or no apt-get); install wrk" >&2; exit 1; fi

# Every benchmark, results in outputs/bench/$(BENCH_RUN_ID)/ (BENCH_ARGS go to each one,
# e.g. BENCH_ARGS="--repeats 5"; MEMORY_SECONDS shortens the 5-minute memory run).
BENCH_RUN_ID ?= $(shell date +%Y%m%d-%H%M%S)
BENCHMARKS := create client batch fanout toxiproxy replicas analysis
MEMORY_SECONDS ?= 300
bench: setup wrk
	@for b in $(BENCHMARKS); do \
	  BENCH_RUN_ID=$(BENCH_RUN_ID) $(BIN)/python -m benchmarks.$$b $(BENCH_ARGS) || exit 1; done
	BENCH_RUN_ID=$(BENCH_RUN_ID) $(BIN)/python -m benchmarks.memory --seconds $(MEMORY_SECONDS)
	$(BIN)/python -m benchmarks.summary outputs/bench/$(BENCH_RUN_ID)
	@echo "results: outputs/bench/$(BENCH_RUN_ID)/ (to make them the reference run:"
	@echo "  $(BIN)/python -m benchmarks.summary outputs/bench/$(BENCH_RUN_ID) --save params/baselines)"

test: setup
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup --cov --cov-report=term --cov-fail-under=90 $(PYTEST_ARGS)

studies: setup
	$(BIN)/syncbench run --params $(PARAMS)

# JupyterLab on git-ignored copies of the notebooks (outputs/lab/), kernel `syncbench`;
# LAB_ARGS go to `jupyter lab` (e.g. LAB_ARGS="--no-browser --port 8888").
lab: setup
	$(BIN)/python -m syncbench.lab $(LAB_ARGS)

lint: python
	$(BIN)/ruff check lib tests

clean:
	rm -rf $(VENV) .tools .pytest_cache .coverage* htmlcov
