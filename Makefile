# The two commands of the README: `make run` and `make test`. Both build .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Test processes (pytest-xdist). 4 on this 2-core machine: many tests wait on sockets and child
# processes, so 4 finish sooner than 2 (see README, "The test suite"). TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= 4
# Where `make run` listens: `make run PORT=8001` when 8000 is taken, `HOST=0.0.0.0` to be reached from elsewhere.
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench install install-dev

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-dev: $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@# Mermaid's own parser for the flow diagram test (node + jsdom, no browser); skipped where npm is not.
	@if command -v npm >/dev/null 2>&1 && [ ! -d tests/mermaid/node_modules/mermaid ]; then \
		npm ci --prefix tests/mermaid --no-audit --no-fund --silent || echo "npm ci failed: the Mermaid parse test will be skipped"; fi

run: install
	$(BIN)/python -m bot serve --host $(HOST) --port $(PORT)

test: install-dev
	$(BIN)/ruff check bot flows tests
	$(BIN)/mypy bot flows tests
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

bench: install
	$(BIN)/python -m bot bench
