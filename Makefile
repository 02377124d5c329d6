# femsim: two commands set everything up on a fresh machine.
#   make run    creates .venv, meshes and runs the shipped default case (cases/5C.toml)
#   make test   creates .venv, runs lint, the test suite serially and the parallel tests on 2 ranks
#   make lint   ruff + mypy (see pyproject.toml); a finding fails `make test`
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CASE   ?= cases/5C.toml
NP     ?= 1

.PHONY: venv run lint test test-serial test-parallel clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[wheel,test]"
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/mpiexec -n $(NP) $(BIN)/femsim run $(CASE)

# ruff (rules in pyproject.toml [tool.ruff]) over all Python in the repository; mypy over the
# package (femsim + postprocess, [tool.mypy]; cache in .cache/mypy)
lint: $(STAMP)
	$(BIN)/ruff check femsim postprocess tests benchmarks examples
	$(BIN)/mypy

test: $(STAMP)
	$(MAKE) lint
	$(MAKE) test-serial
	$(MAKE) test-parallel

test-serial: $(STAMP)
	$(BIN)/python -m pytest -q tests

test-parallel: $(STAMP)
	timeout 900 $(BIN)/mpiexec -n 2 $(BIN)/python -m pytest -q -m parallel -p no:cacheprovider tests

clean:
	rm -rf $(VENV) results
