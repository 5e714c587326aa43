# The README's two commands: `make run` (embedded default, no services) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint format bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "hdab needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Migrate, seed and serve on the embedded default (SQLite, in-process tasks, dev sign-in).
run: install
	$(BIN)/hdab run

## The whole test suite (PostgreSQL and Redis too when HDAB_TEST_DATABASE_URL / HDAB_TEST_BROKER_URL are set).
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check hdab tests bench
	$(BIN)/ruff format --check hdab tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format hdab tests bench
	$(BIN)/ruff check --fix hdab tests bench

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
