# The two commands a new machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run demo test lint bench-ingest bench-agent bench-dashboard bench-soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstalls when pyproject.toml changes. PYTHONWARNINGS reaches the build backend, whose
# editable-install banner would otherwise greet every new user.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	PYTHONWARNINGS=ignore $(BIN)/pip install --quiet -e '.[server,agent,dev]'
	touch $@ $(VENV)/.installed-server

# `make run` and `make demo` need no test tools: a fresh clone is serving a minute sooner.
$(VENV)/.installed-server: pyproject.toml | $(BIN)/python
	PYTHONWARNINGS=ignore $(BIN)/pip install --quiet -e '.[server,agent]'
	touch $@

# exec: make's shell gives way to the script, whose Ctrl-C ends it normally; make then prints no "Interrupt".
run: $(VENV)/.installed-server
	exec env VENV=$(VENV) DEMO=$(DEMO) ./scripts/run.sh

# `make run` plus a simulated fleet of 20 hosts with two weeks of history, analysed.
demo: $(VENV)/.installed-server
	exec env VENV=$(VENV) DEMO=1 ./scripts/run.sh

test: $(VENV)/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench-ingest: $(VENV)/.installed
	$(BIN)/python bench/ingest.py $(BENCH_ARGS)

bench-agent: $(VENV)/.installed
	$(BIN)/python bench/agent.py $(BENCH_ARGS)

bench-dashboard: $(VENV)/.installed
	$(BIN)/python bench/dashboard.py $(BENCH_ARGS)

bench-soak: $(VENV)/.installed
	$(BIN)/python bench/soak.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
