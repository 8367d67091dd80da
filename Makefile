# BranchOps set-up. Two commands do everything on a fresh machine:
#   make demo   — install, migrate SQLite, load demo data, serve on http://127.0.0.1:8000
#   make test   — install, run the whole suite on SQLite and on PostgreSQL, plus ruff
# Every step is stamped, so a second run on the same clone only does what changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/branchops

export BRANCHOPS_DATA_DIR ?= $(CURDIR)/var

.PHONY: demo test setup serve lint messages test-sqlite test-postgres test-e2e bench clean

setup: $(STAMPS)/python $(STAMPS)/assets $(STAMPS)/messages

$(STAMPS)/python: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(STAMPS)/assets: package.json package-lock.json scripts/copy_assets.py
	@mkdir -p $(STAMPS)
	npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python scripts/copy_assets.py
	@touch $@

$(STAMPS)/messages: $(STAMPS)/python $(wildcard src/branchops/locale/*/LC_MESSAGES/*.po)
	@command -v msgfmt >/dev/null || (apt-get update -qq && apt-get install -y -qq gettext)
	cd src/branchops && DJANGO_SETTINGS_MODULE=branchops.settings_test ../../$(BIN)/branchops compilemessages -v 0
	@touch $@

# The demo runs as production does (DEBUG off, WhiteNoise, the product's error pages) but on plain
# HTTP at localhost with the demo secret key: branchops/settings_demo.py. The worker runs beside the
# server so reminders, freezes and escalations happen while someone explores; both stop together.
demo: export DJANGO_SETTINGS_MODULE = branchops.settings_demo
serve: export DEBUG = 1

demo: setup
	$(BIN)/branchops migrate --no-input -v 0
	$(BIN)/branchops demo
	$(BIN)/branchops worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/branchops serve --host $(HOST) --port $(PORT)

serve: setup
	$(BIN)/branchops serve --host $(HOST) --port $(PORT)

messages: $(STAMPS)/python
	cd src/branchops && DJANGO_SETTINGS_MODULE=branchops.settings_test ../../$(BIN)/branchops makemessages -l zh_Hans -l en --no-obsolete --no-location --ignore=static/vendor --ignore='*/migrations/*'
	$(MAKE) $(STAMPS)/messages

test: setup
	bash scripts/test.sh

lint: $(STAMPS)/python
	$(BIN)/ruff check src tests bench scripts

bench: setup
	@for b in bench/*.py; do [ -f "$$b" ] && $(BIN)/python "$$b"; done; true

clean:
	rm -rf $(VENV) $(STAMPS) node_modules src/branchops/static/vendor staticfiles var
