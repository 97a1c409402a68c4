# `make demo` and `make test` build the environment (.venv, the pinned stack, the data) when missing.
# `make test-compat` does the same for the second stack (torch 2.1.2, .venv-torch2.1) and runs the unit tests
# and one end-to-end test per task there (too long for CI; its last result is in docs/installation.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
COMPAT_VENV ?= .venv-torch2.1
COMPAT_TESTS ?= tests/test_losses.py tests/test_weighting.py tests/test_distiller.py tests/test_hook.py \
	tests/test_detection.py tests/test_segmentation.py tests/test_e2e_classification.py::test_train_test_and_export

.PHONY: env env-compat demo test test-compat clean-env

env:
	PYTHON=$(PYTHON) VENV=$(abspath $(VENV)) bash tools/setup_env.sh

env-compat:
	STACK=torch2.1 PYTHON=$(PYTHON) VENV=$(abspath $(COMPAT_VENV)) bash tools/setup_env.sh

demo: env
	$(PY) tools/demo.py

test: env
	$(PY) -m pytest tests $(PYTEST_ARGS)

test-compat: env-compat
	$(COMPAT_VENV)/bin/python -m pytest $(COMPAT_TESTS) $(PYTEST_ARGS)

clean-env:
	rm -rf $(VENV) $(COMPAT_VENV)
