# Two commands do all the set-up on a machine with Python 3.11+:
#   make run   — the whole shop on embedded servers (http://127.0.0.1:8000)
#   make test  — the test suite on real PostgreSQL and Redis

# The first Python 3.11+ on the PATH.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint format lock bench clean

$(STAMP): pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "shop needs Python 3.11 or newer on the PATH" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $@

install: $(STAMP)

run: install
	$(BIN)/shop dev

test: install
	@scripts/ensure-chromium
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests migrations bench
	$(BIN)/ruff format --check src tests migrations bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format src tests migrations bench
	$(BIN)/ruff check --fix src tests migrations bench

# The load benchmark (needs wrk: apt-get install wrk); writes docs/performance.md. About 20
# minutes; a quick look: make bench BENCH_ARGS="--duration 3 --soak-minutes 1 --products 1000"
BENCH_ARGS ?=
bench: install
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,bench]'
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# Refresh the pinned versions after changing the dependencies in pyproject.toml.
lock: install
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
