# PostWizard: `make run` sets everything up and starts it; `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FRONTEND := frontend
DIST := src/postwizard/web/dist
FRONTEND_SOURCES := $(shell find $(FRONTEND)/src $(FRONTEND)/static -type f 2>/dev/null) \
	$(FRONTEND)/package-lock.json $(FRONTEND)/svelte.config.js $(FRONTEND)/vite.config.ts $(FRONTEND)/tsconfig.json

.PHONY: help run test lint typecheck frontend-check pytest bench api-client audit clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "PostWizard needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

$(FRONTEND)/node_modules/.installed: $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund
	touch $@

$(DIST)/index.html: $(FRONTEND)/node_modules/.installed $(FRONTEND_SOURCES)
	cd $(FRONTEND) && npm run build

run: $(BIN)/.installed $(DIST)/index.html ## Set up and start PostWizard at http://127.0.0.1:8000 (SQLite in ./data)
	$(BIN)/postwizard serve

test: lint typecheck frontend-check pytest ## Lint, type-check, front-end checks and the whole test suite

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(BIN)/.installed
	$(BIN)/mypy

frontend-check: $(FRONTEND)/node_modules/.installed
	cd $(FRONTEND) && npm run check && npm run check:api && npm test

# Test processes for the parallel part; the tests marked `serial` (chaos, scale-out: they measure
# behaviour under their own process kills and must not share the CPU) run alone afterwards.
PYTEST_WORKERS ?= 2

pytest: $(BIN)/.installed $(DIST)/index.html
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not serial"
	$(BIN)/pytest -m serial

bench: $(BIN)/.installed $(DIST)/index.html ## Measure performance; tables printed, JSON in bench/results/
	$(BIN)/python bench/run.py

# Where `make audit` checks that the advisory databases can be reached, and how long it waits.
AUDIT_PYPI_URL ?= https://pypi.org/pypi/pip/json
AUDIT_NPM_REGISTRY ?= https://registry.npmjs.org/
AUDIT_PROBE_SECONDS ?= 10
AUDIT_TIMEOUT_SECONDS ?= 600

audit: $(BIN)/.installed ## Known vulnerabilities in the Python and npm dependencies (needs the internet; not part of `make test`)
	@echo "make audit: pip-audit and npm audit ask online advisory databases; this needs internet access."
	@$(BIN)/python scripts/check_advisory_access.py $(AUDIT_PROBE_SECONDS) $(AUDIT_PYPI_URL) $(AUDIT_NPM_REGISTRY)
	timeout $(AUDIT_TIMEOUT_SECONDS) $(BIN)/pip-audit --skip-editable --timeout 30
	cd $(FRONTEND) && timeout $(AUDIT_TIMEOUT_SECONDS) npm audit --omit=dev --registry=$(AUDIT_NPM_REGISTRY)

api-client: $(BIN)/.installed $(FRONTEND)/node_modules/.installed ## Regenerate the front end's API client from the app's OpenAPI
	$(BIN)/postwizard openapi > $(FRONTEND)/openapi.json
	cd $(FRONTEND) && npm run gen:api

clean: ## Remove the virtualenv, node_modules and build output (keeps ./data)
	rm -rf $(VENV) $(FRONTEND)/node_modules $(FRONTEND)/.svelte-kit $(DIST)
