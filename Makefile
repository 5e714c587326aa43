# The README's two commands: `make run` (embedded default, no services) and `make test`.
# `make run` installs what the service needs; `make test`, `make lint` and `make bench` add the dev extras.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP     := $(VENV)/.installed-dev

.PHONY: install install-dev run test lint format bench messages clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "hdab needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) -e '.[dev]'
	@touch $@ $(RUNTIME_STAMP)

install: $(RUNTIME_STAMP)

install-dev: $(DEV_STAMP)

## Migrate, seed and serve on the embedded default (SQLite, in-process tasks, dev sign-in).
run: install
	$(BIN)/hdab run

## The whole test suite (PostgreSQL and Redis too when HDAB_TEST_DATABASE_URL / HDAB_TEST_BROKER_URL are set).
test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/python -m ruff check hdab tests bench
	$(BIN)/python -m ruff format --check hdab tests bench
	$(BIN)/python -m mypy
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/python -m ruff format hdab tests bench
	$(BIN)/python -m ruff check --fix hdab tests bench

bench: install-dev
	$(BIN)/python -m bench

## Extract every page text (babel.cfg) into both catalogues, keeping what is translated; new texts
## come in empty: translate them in hdab/locale/{nb,en}/LC_MESSAGES/messages.po (tests/core/test_i18n.py).
messages: install-dev
	@mkdir -p var
	$(BIN)/pybabel --quiet extract -F babel.cfg -k N_ --no-location --sort-output -o var/messages.pot .
	$(BIN)/pybabel --quiet update -i var/messages.pot -d hdab/locale -D messages -w 100 --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
