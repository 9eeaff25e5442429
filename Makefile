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
# The console's browser assets (htmx, Chart.js, axe-core): pinned in package-lock.json,
# installed from the npm registry, copied where the server serves them (/static/vendor/).
# Git-ignored: never committed.
VENDOR := src/appwarden/console/static/vendor
VENDOR_STAMP := $(VENDOR)/.installed

.PHONY: run report test lint typecheck unit bench clean vendor messages

$(STAMP): pyproject.toml | $(VENDOR_STAMP)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

vendor: $(VENDOR_STAMP)

$(VENDOR_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chart.umd.min.js
	cp node_modules/axe-core/axe.min.js $(VENDOR)/axe.min.js
	touch $(VENDOR_STAMP)

# After changing console text: extract it, merge it into the French catalogue, then
# translate the new entries (tests fail while one is missing).
messages: $(STAMP)
	mkdir -p out
	$(BIN)/pybabel extract -F babel.cfg --no-location --omit-header -o out/messages.pot src/appwarden/console
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete --width 100 -i out/messages.pot -d src/appwarden/console/locales -l fr

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
	$(BIN)/pytest -q -n auto --dist loadgroup

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python bench/vet_vs_peers.py

clean:
	rm -rf $(VENV) out node_modules $(VENDOR) .mypy_cache .ruff_cache .pytest_cache
