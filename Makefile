# The two commands that matter: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint bench install install-test clean

$(BIN)/.runtime: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(BIN)/.test: $(BIN)/.runtime requirements-test.lock
	$(BIN)/pip install -q -r requirements-test.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.runtime node_modules/.installed

install-test: $(BIN)/.test node_modules/.installed

## Set up and run the platform with the Zhongyuan District demo on SQLite (http://127.0.0.1:8000).
demo: install
	$(BIN)/govdesk demo

## Set up and run every test: ruff, makemigrations --check, pytest (browser tests included).
test: install-test
	$(BIN)/ruff check govdesk tests bench
	$(BIN)/govdesk makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check govdesk tests bench

## Benchmarks against their peers (see bench/README.md).
bench: install-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules data
