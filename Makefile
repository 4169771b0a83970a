# Set-up and everyday commands. Every target builds .venv from the lock first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Each test run ends with its 15 slowest tests; `make test PYTEST_ARGS=-x` and the like replace that.
PYTEST_ARGS ?= --durations=15
# Tests run on this many pytest-xdist workers, each taking the next test as it finishes one (much
# of a test's time is spent waiting on a child command or a server); the servers tier is one group,
# run in order on one worker (tests/servers/conftest.py). TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= 2
XDIST := $(if $(filter 0,$(TEST_WORKERS)),-p no:xdist,-n $(TEST_WORKERS) --dist loadgroup)

.NOTPARALLEL:
.PHONY: venv train test test-fast test-slow lint format ui ui-stop benchmark clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

train: venv
	$(BIN)/regress train

# Every tier (unit, contract, flows, e2e, servers), each test once: the quick tiers first, so a
# broken unit fails in a minute or two, then the rest; each half prints its 15 slowest tests.
test: test-fast test-slow

# The quick tiers (core units, data contract): a minute or so. A tier with no tests is no failure (exit 5).
test-fast: venv
	$(BIN)/python -m pytest -m "unit or contract" $(XDIST) $(PYTEST_ARGS) || [ $$? -eq 5 ]

# The tiers test-fast leaves out: flows, e2e, servers.
test-slow: venv
	$(BIN)/python -m pytest -m "not unit and not contract" $(XDIST) $(PYTEST_ARGS) || [ $$? -eq 5 ]

lint: venv
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Seeds 60 days of arriving rows ending today (regress-home/incoming/dt=YYYY-MM-DD/part.parquet), the
# moving window the nightly deployment trains on and the days the score deployment scores.
ui: venv
	$(BIN)/regress data simulate --days 60 --to regress-home/incoming
	$(BIN)/regress ui start

ui-stop: venv
	$(BIN)/regress ui stop

benchmark: venv
	$(BIN)/python benchmarks/pipeline.py
	$(BIN)/python benchmarks/model_quality.py

clean:
	rm -rf $(VENV) regress-home .pytest_cache .mypy_cache .ruff_cache
