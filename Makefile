# Two commands for a newcomer: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup browser postgres demo serve test lint

setup: $(STAMP)

# Re-install only when the project's dependencies change.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "newsflow needs $(PYTHON) (torch 2.13.0 wheel is for CPython 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(BIN)/newsflow demo

# Ctrl-C stops server, worker and any run in flight; PORT=4300 make serve for another port.
PORT ?= 4200
serve: setup
	$(BIN)/newsflow serve --port $(PORT)

# The UI and digest checks drive Debian's Chromium headless (no browser download); the digest's
# Chinese titles need a CJK font (Droid Sans Fallback, 7 MB) to show in its screenshot.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@fc-list :lang=zh | grep -q . || { apt-get update -qq && apt-get install -y -qq fonts-droid-fallback >/dev/null; }

# The DuckLake test runs its own throwaway PostgreSQL cluster (initdb on 127.0.0.1) as the catalog.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }

# Two test processes, a module each at a time (most end-to-end tests wait on servers and
# workers, not the CPU): 7.5 minutes on 2 cores, quiet, where one process took about 16-19.
test: setup browser postgres
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
