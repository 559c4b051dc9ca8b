PYTHON ?= python

.PHONY: test generate lint typecheck

test:
	$(PYTHON) -m pytest -q -n auto

generate:
	$(PYTHON) -m phasefl.codegen

lint:
	$(PYTHON) -m ruff check phasefl tests derivations bench figures

typecheck:
	$(PYTHON) -m mypy phasefl --ignore-missing-imports

.PHONY: bench figures derivations
bench:
	$(PYTHON) bench/run.py

figures:
	$(MAKE) -C figures PYTHON=$(PYTHON)

derivations:
	$(PYTHON) derivations/render.py
