# The two commands the README promises on a fresh clone:
#   make run    set up, migrate the embedded SQLite database and create the first superuser
#   make test   set up and run the test suite (SQLite + PostgreSQL)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EMAIL ?= admin@example.com

.PHONY: run test lint setup clean

$(BIN)/manage: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

setup: $(BIN)/manage

# The password is asked twice on a terminal, or read from MANAGE_PASSWORD; never argv.
run: setup
	$(BIN)/manage migrate upgrade
	$(BIN)/manage users create-superuser --email $(EMAIL) --if-exists skip
	$(BIN)/manage db check
	$(BIN)/manage users list

test: setup
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) app.db .pytest_cache .ruff_cache *.egg-info
