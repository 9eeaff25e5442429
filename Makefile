# AppWarden: two commands on a fresh machine.
#   make run    set up .venv, start the server on SQLite with demo data, print its URL
#   make test   set up .venv with the dev tools, run ruff, mypy and pytest

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APPS ?= ../shared/fixtures/apps
OUT ?= out/report
DEMO ?= out/demo
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run report test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo database lives in $(DEMO); app files in $(APPS), if that folder exists, are
# vetted into it (a fresh clone without them gets publishers and apps, no assessments).
run: $(STAMP)
	@APPWARDEN_DATA_DIR="$(DEMO)" $(BIN)/appwarden demo --apps "$(APPS)" --url "http://$(HOST):$(PORT)"
	@APPWARDEN_DATA_DIR="$(DEMO)" $(BIN)/appwarden serve --host "$(HOST)" --port "$(PORT)"

# Vet the app files into a folder of HTML reports, without a server.
report: $(STAMP)
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
