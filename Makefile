# The two commands of the README: `make up` runs the system locally, `make test` tests it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: up test bench system-deps

up: $(STAMP)
	$(BIN)/eb_tools local

test: $(STAMP) system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP) system-deps
	$(BIN)/python benchmarks/worker_throughput.py
	$(BIN)/python benchmarks/image_variants.py
	$(BIN)/python benchmarks/check_speed.py

$(STAMP): pyproject.toml requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -e '.[dev]'
	touch $(STAMP)

# Real servers for the tests: Debian's packages, installed when running as root.
system-deps:
	@bash scripts/system-deps.sh
