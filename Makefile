PYTHON ?= python

.PHONY: test generate lint typecheck

test:
	$(PYTHON) -m pytest -q -n auto

generate:
	$(PYTHON) -m phasefl.codegen

lint:
	@$(PYTHON) -c "import ruff" 2>/dev/null || { echo "make lint needs ruff: pip install -e '.[test]'"; exit 2; }
	$(PYTHON) -m ruff check phasefl tests derivations bench figures
	$(PYTHON) -m ruff format --check phasefl tests derivations bench figures

typecheck:
	@$(PYTHON) -c "import mypy" 2>/dev/null || { echo "make typecheck needs mypy: pip install -e '.[test]'"; exit 2; }
	$(PYTHON) -m mypy phasefl --ignore-missing-imports

.PHONY: bench figures derivations mutate
mutate:  # mutation testing (mutmut, configured in setup.cfg); hours on 2 cores, not part of CI
	@$(PYTHON) -c "import mutmut" 2>/dev/null || { echo "make mutate needs mutmut: pip install -e '.[dev]'"; exit 2; }
	$(PYTHON) -m mutmut run
	$(PYTHON) -m mutmut results

bench:  # pytest-benchmark (bench/conftest.py); prints and writes the table bench/results/results.md
	@mkdir -p bench/results
	$(PYTHON) -m pytest bench --benchmark-json=bench/results/results.json $(BENCH_ARGS)
	$(PYTHON) bench/table.py bench/results/results.json bench/results/results.md

figures:
	$(MAKE) -C figures PYTHON=$(PYTHON)

derivations:
	$(PYTHON) derivations/render.py
