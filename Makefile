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

# Two workers for the tests that time nothing, then alone the ones that measure time, send
# signals or race processes (marked `serial` in tests/conftest.py); both halves always run.
test: setup
	rc=0; $(BIN)/pytest -n 2 -m "not serial" || rc=$$?; $(BIN)/pytest -m serial || rc=$$?; exit $$rc

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) app.db .pytest_cache .ruff_cache *.egg-info
