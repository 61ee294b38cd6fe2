# Two commands: `make run` (the demo town on SQLite at http://127.0.0.1:5000) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
export PYTHONPATH := $(CURDIR)

.PHONY: run test install install-dev translations bench lint clean loadtest

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d volunteer/translations -D messages >/dev/null

run: install translations
	$(FLASK) setup
	$(FLASK) seed-demo --if-empty
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install-dev translations
	$(BIN)/python -m pytest -n auto -q $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check volunteer tests

clean:
	rm -rf $(VENV) .venv-load instance .pytest_cache

# Locust in a venv of its own (its Flask and gevent stay out of the app's).
.venv-load/.installed: requirements-load.txt
	$(PY) -m venv .venv-load
	.venv-load/bin/pip install --quiet -r requirements-load.txt
	touch $@

# A city on PostgreSQL under load (see README, "Production"): LOADTEST_ARGS="--minutes 1" …
loadtest: install translations .venv-load/.installed
	$(BIN)/python loadtest/run.py $(LOADTEST_ARGS)

bench: install-dev
	$(BIN)/python -m tests.benchmarks.bench_import
	$(BIN)/python -m tests.benchmarks.bench_match
	$(BIN)/python -m tests.benchmarks.bench_dashboard
	$(BIN)/python -m tests.benchmarks.bench_outbox
	$(BIN)/python -m tests.benchmarks.bench_learning
	$(BIN)/python -m tests.benchmarks.bench_plan
	$(BIN)/python -m tests.benchmarks.bench_callup
