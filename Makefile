# Two commands on a fresh machine: `docker compose up -d` (the stack) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVICES := ingest normalize enrich index
PROJECTS := shared/pyproject.toml $(SERVICES:%=services/%/pyproject.toml) requirements-dev.txt

.PHONY: install test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: $(PROJECTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e shared $(SERVICES:%=-e services/%) -r requirements-dev.txt
	touch $@

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check shared services tests bench

bench: install
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) .pytest_cache
