# Quick start: `make demo` runs the window desk end to end, then serves the sample centre in
# the browser (the URL and the sample accounts are printed; Ctrl-C stops it); `make test`
# runs the tests.
# Each target sets itself up: the Debian packages for PDF output (LibreOffice, CJK
# fonts) and PostgreSQL (installed only when missing), a virtualenv in .venv and the
# project with its test extras.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_HOME ?= demo-home
DEMO_PORT ?= 8080
DEMO_DAY  ?= 2026-09-28

.PHONY: demo test deps bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

deps:
	@bash tools/install-debian-deps.sh

# The demo starts from a fresh sample centre each time, so its accounts' passwords are new and
# shown; the server works on the demo's day (ARCHIVE_TODAY), like the printed table.
demo: deps $(STAMP)
	rm -rf $(DEMO_HOME)
	$(BIN)/archive demo --home $(DEMO_HOME)
	ARCHIVE_TODAY=$(DEMO_DAY) $(BIN)/archive serve --home $(DEMO_HOME) --port $(DEMO_PORT)

# The whole suite runs twice, side by side (tools/test-both-stores.sh): on SQLite and on a
# PostgreSQL server the test session starts itself (initdb + pg_ctl on a loopback port,
# stopped at the end; tests/conftest.py). Each run's output is in .test-logs/.
test: deps $(STAMP)
	@PYTHON=$(BIN)/python bash tools/test-both-stores.sh

bench: deps $(STAMP)
	$(BIN)/python bench/notices.py

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache .test-logs
