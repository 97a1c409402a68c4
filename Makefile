# `make demo` and `make test` build the environment (.venv, the pinned stack, the data) when missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: env demo test clean-env

env:
	PYTHON=$(PYTHON) VENV=$(abspath $(VENV)) bash tools/setup_env.sh

demo: env
	$(PY) tools/demo.py

test: env
	$(PY) -m pytest tests $(PYTEST_ARGS)

clean-env:
	rm -rf $(VENV)
