# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install install-test db lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'

db: install
	$(BIN)/isletbase db load

# venv, install, load the bundled data (progress bar), serve on 127.0.0.1:8000
run: db
	$(BIN)/isletbase serve --host $(HOST) --port $(PORT)

# test extras, a local PostgreSQL and Chromium (installed if missing), then the whole suite on
# SQLite and PostgreSQL
test: install-test
	$(BIN)/ruff check src tests benchmarks
	ISLETBASE_TEST_PG="$$(scripts/postgres.sh start)" scripts/browser.sh $(BIN)/pytest

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) isletbase.db isletbase.db-wal isletbase.db-shm test-artifacts .pytest_cache
