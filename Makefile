# Two commands for a fresh machine:  make demo   and   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check lint types schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: start the six-node demo coalition on loopback (SQLite, nothing else to install)
demo: $(STAMP)
	$(BIN)/ipo-node demo

## test: format check, lint, types, then the tests on SQLite and on PostgreSQL
test: $(STAMP)
	scripts/test

check: test

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

types: $(STAMP)
	$(BIN)/mypy federation schemas node

schemas: $(STAMP)
	$(BIN)/python -m schemas.export

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache
