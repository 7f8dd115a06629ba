# The two commands of the README: `make run` and `make test`. Both build .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench install install-dev

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-dev: $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'

run: install
	$(BIN)/python -m bot serve

test: install-dev
	$(BIN)/ruff check bot flows tests
	$(BIN)/mypy bot flows tests
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m bot bench
