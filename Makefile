# Two commands on a fresh machine: `docker compose up -d --build` (the stack) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVICES := $(notdir $(wildcard services/*))
PROJECTS := shared/pyproject.toml $(SERVICES:%=services/%/pyproject.toml) \
	tests/support/pyproject.toml requirements-dev.txt constraints.txt

.PHONY: install test lint bench soak faults bench-search bench-embed bench-ner bench-entities bench-dates train-ner build-aliases learn-furniture constraints clean

install: $(VENV)/.installed

$(VENV)/.installed: $(PROJECTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e "shared[embed]" $(SERVICES:%=-e services/%) \
		-e tests/support -r requirements-dev.txt
	touch $@

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check shared services tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/pipeline.py

soak: install
	$(BIN)/python bench/soak.py

faults: install
	$(BIN)/python bench/faults.py

bench-search: install
	$(BIN)/python bench/search_quality.py

# The embed stage's cost per input budget, its quality on the labelled pairs, the index size.
bench-embed: install
	$(BIN)/python bench/embed.py

bench-ner: install
	$(BIN)/python bench/ner.py

bench-entities: install
	$(BIN)/python bench/entities.py

bench-dates: install
	$(BIN)/python bench/dates.py

# Retrain the entity model from ../shared/data (then commit akhbar_enrich/data/ner*).
# The entity alias table from the developers' day and the latest crawl day (akhbar_enrich.canonical).
build-aliases: install
	$(BIN)/python services/enrich/tools/build_aliases.py --days 1

train-ner: install
	$(BIN)/python -m akhbar_enrich.ner_training

# Relearn the normalize stage's furniture seed from ../shared/data/news (then commit
# akhbar_normalize/data/furniture.json).
learn-furniture: install
	$(BIN)/python -m akhbar_normalize.furniture_seed

# Re-pin every package after a dependency change (then review the diff).
constraints: install
	{ echo "# Every Python package of the images and the dev environment, pinned (pip install -c)."; \
	  echo "# Regenerate after changing a pyproject.toml: make constraints"; \
	  $(BIN)/pip freeze --exclude-editable | grep -v '^-e'; } > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache
