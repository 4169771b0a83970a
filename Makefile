# Set-up and everyday commands. Every target builds .venv from the lock first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv train test test-fast lint format ui ui-stop benchmark clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

train: venv
	$(BIN)/regress train

# Every tier: unit, contract, flows, e2e, servers.
test: venv
	$(BIN)/python -m pytest

# The quick tiers (core units, data contract): a minute or so.
test-fast: venv
	$(BIN)/python -m pytest -m "unit or contract"

lint: venv
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

ui: venv
	$(BIN)/regress ui start

ui-stop: venv
	$(BIN)/regress ui stop

benchmark: venv
	$(BIN)/python benchmarks/pipeline.py
	$(BIN)/python benchmarks/model_quality.py

clean:
	rm -rf $(VENV) regress-home .pytest_cache .mypy_cache .ruff_cache
