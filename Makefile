# The README's two commands: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The lowest versions we support, tested on every `make test` beside the newest releases.
LOWEST_VENV := .venv-lowest
LOWEST_PINS := "agno==3.0.0" "openai==1.106.1"
# Other people's DeepInfra clients, run against the emulator in a venv of their own (never our deps).
CONFORMANCE_VENV := .venv-conformance
PYTEST_FLAGS ?= -q

.PHONY: install demo test lint typecheck unit test-lowest conformance live bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -qq -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	AGNO_TELEMETRY=false $(BIN)/python cookbook/tour.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	AGNO_TELEMETRY=false $(BIN)/python -m pytest $(PYTEST_FLAGS)

$(LOWEST_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/python -m pip install -qq --upgrade pip
	$(LOWEST_VENV)/bin/python -m pip install -qq -e ".[dev]" $(LOWEST_PINS)
	@touch $@

test-lowest: $(LOWEST_VENV)/.installed
	@$(LOWEST_VENV)/bin/python -c "import agno, openai, importlib.metadata as m; print('lowest supported: agno', m.version('agno'), 'openai', openai.__version__)"
	AGNO_TELEMETRY=false $(LOWEST_VENV)/bin/python -m pytest $(PYTEST_FLAGS)

# The package goes in without its dependencies: the suite needs only the emulator (and h11).
$(CONFORMANCE_VENV)/.installed: conformance/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(CONFORMANCE_VENV)
	$(CONFORMANCE_VENV)/bin/python -m pip install -qq --upgrade pip
	$(CONFORMANCE_VENV)/bin/python -m pip install -qq -r conformance/requirements.txt
	$(CONFORMANCE_VENV)/bin/python -m pip install -qq --no-deps -e .
	@touch $@

conformance: $(CONFORMANCE_VENV)/.installed
	cd conformance && ../$(CONFORMANCE_VENV)/bin/python -m pytest $(PYTEST_FLAGS)

test: lint typecheck unit test-lowest conformance
	@$(BIN)/python -c "import importlib.metadata as m; print('newest tested: agno', m.version('agno'), 'openai', m.version('openai'))"

# Live checks against the real API (needs DEEPINFRA_API_KEY); never part of `make test`.
live: $(STAMP)
	LIVE_DEEPINFRA_API_KEY="$$DEEPINFRA_API_KEY" $(BIN)/python -m pytest -o addopts="" -m live tests/live -q

bench: $(STAMP)
	$(BIN)/python -m pip install -qq -e ".[bench]"
	AGNO_TELEMETRY=false $(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(LOWEST_VENV) $(CONFORMANCE_VENV) .pytest_cache .mypy_cache .ruff_cache
