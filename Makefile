# Two commands do all set-up (see README.md):
#   make run    create .venv, install, run the main experiment batch, leave tables and plots in results/
#   make test   create .venv, install everything the tests need (incl. Chromium), run the whole suite
#
# Python >= 3.12 is required (Mesa 3.5). The first python3.x >= 3.12 on PATH is used; override with
#   make test PYTHON=/path/to/python3.12

PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 python3; do \
            command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' \
            2>/dev/null && { echo $$p; break; }; done)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
MAIN_EXPERIMENT ?= experiments/escalation.toml

.PHONY: run test install browser clean help

help:
	@echo "make run   - install and run the main experiment batch (results in results/)"
	@echo "make test  - install everything the tests need and run the whole test suite"

$(STAMP): pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
	  test -n "$(PYTHON)" || { echo "make: error: Python >= 3.12 not found; pass PYTHON=/path/to/python3.12" >&2; exit 2; }; \
	  echo "$(PYTHON) -m venv $(VENV)"; $(PYTHON) -m venv $(VENV); \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,discover]'
	$(BIN)/python -m model.viz.offline_assets
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }
	@$(CHROMIUM) --version

# The main job writes results/escalation, or escalation-2, -3, ... when an earlier run is there:
# nothing earlier is deleted or replaced.
run: install
	@out=results/escalation; n=1; while [ -e "$$out" ]; do n=$$((n + 1)); out=results/escalation-$$n; done; \
	echo "$(BIN)/armsrace sweep $(MAIN_EXPERIMENT) --out $$out"; \
	$(BIN)/armsrace sweep $(MAIN_EXPERIMENT) --out "$$out" && \
	echo "$(BIN)/armsrace plot $$out" && $(BIN)/armsrace plot "$$out"

test: install browser
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis test-output
