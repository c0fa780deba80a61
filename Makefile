# The two commands of the README: `make up` runs the system locally, `make test` tests it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# pytest-xdist processes: most tests wait on servers and the emulated EB's steps, so three share two cores
# well (on this machine 637 tests took 14.6-16 min in one process, 8.4 in two, 7.5 in three);
# --dist loadfile keeps a module's tests (and its module-scoped servers) in one process; --no-loadscope-reorder
# hands the files out in collection order, the longest first (tests/conftest.py, LONGEST_FIRST).
PYTEST_WORKERS ?= 3

# checkov pins an old boto3 (and packaging<24), so it cannot share .venv: it gets a venv of its own,
# which tests/test_templates.py runs on the generated templates. The stamp names the version, so a new pin reinstalls.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV    := .venv-checkov
CHECKOV_STAMP   := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

.PHONY: up test lint bench system-deps lock

up: $(STAMP)
	@bash scripts/system-deps.sh local
	$(BIN)/eb_tools local

test: lint $(CHECKOV_STAMP) system-deps
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# Static checks, configured in pyproject.toml: lint and import order, then types.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP) system-deps
	$(BIN)/python benchmarks/worker_throughput.py
	$(BIN)/python benchmarks/image_variants.py
	$(BIN)/python benchmarks/check_speed.py
	$(BIN)/python benchmarks/local_startup.py
	$(BIN)/python benchmarks/promote.py
	$(BIN)/python benchmarks/web_path.py
	$(BIN)/python benchmarks/wheelhouse.py
	$(BIN)/python benchmarks/faults.py

# The venv is installed from the locks (what instances install, and the dev extra's pins beside it), and again
# whenever one changes; `make lock` makes them anew from requirements.in and pyproject.toml (scripts/lock.py).
$(STAMP): pyproject.toml requirements.txt constraints-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt
	$(BIN)/pip install --quiet -c constraints-dev.txt -e '.[dev]'
	touch $(STAMP)

lock: $(STAMP)
	$(BIN)/python scripts/lock.py

# The venv checkov runs from (see CHECKOV_VERSION).
$(CHECKOV_STAMP):
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov==$(CHECKOV_VERSION)'
	rm -f $(CHECKOV_VENV)/.installed-*
	touch $@

# Real servers for the tests: Debian's packages, installed when running as root.
system-deps:
	@bash scripts/system-deps.sh
