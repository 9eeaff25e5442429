# AppWarden: two commands on a fresh machine.
#   make run    set up .venv, vet the fixture apps into an HTML report, print where it is
#   make test   set up .venv with the dev tools, run ruff, mypy and pytest

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APPS ?= ../shared/fixtures/apps
OUT ?= out/report
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	@if [ ! -d "$(APPS)" ]; then \
	  echo "No app files at $(APPS). Vet your own with: $(BIN)/appwarden vet PATH --format html --out $(OUT)"; \
	  exit 2; fi
	@$(BIN)/appwarden vet "$(APPS)" --format html --out "$(OUT)" --quiet || [ $$? -eq 2 ]
	@echo "Report: $(abspath $(OUT))/index.html"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q -n auto

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python bench/vet_vs_peers.py

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache
