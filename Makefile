# flyonce: `make demo` runs the main job on embedded defaults, `make test` runs the tests.
# Both create the virtual environment ($(VENV), default .venv) and install what they need.

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.flyonce-installed
PYTEST_ARGS ?=
# Two pytest-xdist workers, a test file to a worker (module fixtures such as the demo run once).
# Most slow tests wait on simulated flight, not on the CPU, so two workers halve the wall time on
# two cores. XDIST= runs everything in one process.
XDIST ?= -n 2 --dist loadfile
DEMO_ARGS ?=

.PHONY: demo test bench install browser clean help

help:
	@echo "make demo   - fly the simulated closed loop (6 drones, 30 mission min), print the scorecard and write the report (DEMO_ARGS=\"--keep-serving\" leaves the console on)"
	@echo "make test   - run the test suite (set FLYONCE_TEST_DATABASE_URL / FLYONCE_TEST_REDIS_URL for PostgreSQL / Redis)"
	@echo "make bench  - run the benchmarks in tests/bench (one JSON line each)"

install: $(STAMP)

# Re-install whenever pyproject.toml or the lock changes. The run-time dependencies come at the
# versions requirements.lock pins (deploy/lock.py), the ones the Docker image installs.
$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip wheel setuptools
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $@

# Debian's Chromium drives the web-page tests (Playwright never downloads a browser here).
browser:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || { echo "error: could not install chromium; run: apt-get install chromium" >&2; exit 1; }; }

demo: $(STAMP)
	$(BIN)/flyonce demo $(DEMO_ARGS)

# Tests marked `serial` (the full demo's) run on their own, after the rest: their simulated
# copters and cameras keep mission time at 12x wall time, and on a slower 2-core machine (AVX2
# only) a heavy test on the other xdist worker starved them (a drone's heartbeat silent 24
# mission s, a watch's scene checks late): two demo tests failed under -n 2 that pass alone.
# Each test runs once; a selection with no serial test skips the second run (pytest exit 5).
test: $(STAMP) browser
	$(BIN)/python -m pytest $(XDIST) -m "not serial" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m serial $(PYTEST_ARGS) || [ $$? -eq 5 ]

bench: $(STAMP)
	@for b in tests/bench/bench_*.py; do echo "== $$b" >&2; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf var .pytest_cache
