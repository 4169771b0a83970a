# Set-up and everyday commands. `make train` and `make test` build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv train test ui ui-stop benchmark clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

train: venv
	$(BIN)/regress train

test: venv
	$(BIN)/python -m pytest

ui: venv
	$(BIN)/regress ui start

ui-stop: venv
	$(BIN)/regress ui stop

benchmark: venv
	$(BIN)/python benchmarks/pipeline.py
	$(BIN)/python benchmarks/model_quality.py

clean:
	rm -rf $(VENV) regress-home .pytest_cache
