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

# The locks: exact versions with hashes, what CI tested (pip-tools). `make lock` after changing pyproject.toml.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
LOCK_VENV := .venv-lock
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --no-build-isolation $(LOCK_ARGS)
# What to say when pyproject.toml names a package the lock does not hold.
STALE_LOCK := echo "pyproject.toml asks for more than the lock holds: run 'make lock' (and commit the two .lock files)"

.PHONY: run test lint bench install install-dev lock

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q --require-hashes -r $(LOCK)
	$(BIN)/pip install -q --no-deps -e .
	@$(BIN)/pip check >/dev/null || { $(BIN)/pip check; $(STALE_LOCK); exit 1; }

install-dev: $(BIN)/python
	$(BIN)/pip install -q --require-hashes -r $(DEV_LOCK)
	$(BIN)/pip install -q --no-deps -e .
	@$(BIN)/pip check >/dev/null || { $(BIN)/pip check; $(STALE_LOCK); exit 1; }
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

# Re-resolve both locks from pyproject.toml, keeping every pin that still fits (and its hashes, so a
# rerun takes seconds, not the minutes of hashing every file anew). The dev lock is made first; the
# runtime lock starts from it, so both hold the same versions. LOCK_ARGS=--upgrade moves every pin
# to the newest release; LOCK_ARGS='--upgrade-package httpx' one. After a merge conflict in a lock:
# take either side (git checkout --theirs requirements*.lock) and run make lock again.
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || { $(PY) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install -q 'pip-tools>=7.4' 'setuptools>=68'; }
	$(PIP_COMPILE) --extra dev -o $(DEV_LOCK) pyproject.toml
	cp $(DEV_LOCK) $(LOCK)
	$(PIP_COMPILE) -o $(LOCK) pyproject.toml
