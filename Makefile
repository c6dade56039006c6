# The README's two commands: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The lowest versions we support, tested on every `make test` beside the newest releases:
# every floor declared in pyproject.toml, pinned by constraints-lowest.txt.
LOWEST_VENV := .venv-lowest
LOWEST_CONSTRAINTS := constraints-lowest.txt
# Other people's DeepInfra clients, run against the emulator in a venv of their own (never our deps).
CONFORMANCE_VENV := .venv-conformance
PYTEST_FLAGS ?= -q
# The versions a run tested, printed by `make test` for both venvs.
VERSIONS = -c "import importlib.metadata as m; print('$(1):', ', '.join(n + ' ' + m.version(n) for n in ('agno', 'openai', 'httpx', 'pydantic', 'h11', 'pytest')))"

.PHONY: install demo test lint typecheck unit test-lowest conformance docs live bench mutation clean FORCE

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip

# Upgraded on every run (eager: dependencies too), so "newest" never goes stale in an old .venv.
$(STAMP): FORCE | $(BIN)/python
	$(BIN)/python -m pip install -qq --upgrade --upgrade-strategy eager -e ".[dev]"
	@touch $(STAMP)

FORCE:

install: $(STAMP)

demo: $(STAMP)
	AGNO_TELEMETRY=false $(BIN)/python cookbook/tour.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	@$(BIN)/python $(call VERSIONS,newest releases)
	AGNO_TELEMETRY=false $(BIN)/python -m pytest $(PYTEST_FLAGS)

$(LOWEST_VENV)/bin/python:
	$(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/python -m pip install -qq --upgrade pip

# Installed on every run too: the constraints pin every floor, whatever the venv held before.
$(LOWEST_VENV)/.installed: FORCE | $(LOWEST_VENV)/bin/python
	$(LOWEST_VENV)/bin/python -m pip install -qq -c $(LOWEST_CONSTRAINTS) -e ".[dev]"
	@touch $@

# AGNO_DEEPINFRA_LOWEST tells tests/test_versions.py to check that the floors are what is installed.
test-lowest: $(LOWEST_VENV)/.installed
	@$(LOWEST_VENV)/bin/python $(call VERSIONS,lowest declared floors)
	AGNO_TELEMETRY=false AGNO_DEEPINFRA_LOWEST=1 $(LOWEST_VENV)/bin/python -m pytest $(PYTEST_FLAGS)

# The package goes in without its dependencies: the suite needs only the emulator (and h11).
$(CONFORMANCE_VENV)/.installed: conformance/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(CONFORMANCE_VENV)
	$(CONFORMANCE_VENV)/bin/python -m pip install -qq --upgrade pip
	$(CONFORMANCE_VENV)/bin/python -m pip install -qq -r conformance/requirements.txt
	$(CONFORMANCE_VENV)/bin/python -m pip install -qq --no-deps -e .
	@touch $@

conformance: $(CONFORMANCE_VENV)/.installed
	cd conformance && ../$(CONFORMANCE_VENV)/bin/python -m pytest $(PYTEST_FLAGS)

# The docs site (docs/, mkdocs.yml): MkDocs with the Material theme and an API reference from the
# docstrings, in a venv of its own (docs/requirements.txt; never the package's dependencies).
# --strict: a broken link or anchor, a missing page or a renamed symbol fails `make test`.
# NO_MKDOCS_2_WARNING: newer Material releases print an end-of-life banner on every build otherwise
# (Material is maintained until May 2027; its successor, Zensical, reads the same mkdocs.yml).
DOCS_VENV := .venv-docs
$(DOCS_VENV)/.installed: docs/requirements.txt
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/python -m pip install -qq --upgrade pip
	$(DOCS_VENV)/bin/python -m pip install -qq -r docs/requirements.txt
	@touch $@

docs: $(DOCS_VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(DOCS_VENV)/bin/mkdocs build --strict --site-dir site

test: lint typecheck docs unit test-lowest conformance
	@$(BIN)/python $(call VERSIONS,newest tested)
	@$(LOWEST_VENV)/bin/python $(call VERSIONS,lowest tested)

# Live checks against the real API (needs DEEPINFRA_API_KEY); never part of `make test`.
live: $(STAMP)
	LIVE_DEEPINFRA_API_KEY="$$DEEPINFRA_API_KEY" $(BIN)/python -m pytest -o addopts="" -m live tests/live -q

bench: $(STAMP)
	$(BIN)/python -m pip install -qq -e ".[bench]"
	AGNO_TELEMETRY=false $(BIN)/python -m benchmarks

# Mutation testing of the retry policy, the error table and the stream ending (RELIABILITY.md,
# "Mutation testing"): minutes on 2 cores; never part of `make test`. Its own venv keeps mutmut
# out of the dev venv; the editable install there is what tools/mutation.py's canary guards against.
MUTATION_VENV := .venv-mutation
$(MUTATION_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(MUTATION_VENV)
	$(MUTATION_VENV)/bin/python -m pip install -qq --upgrade pip
	$(MUTATION_VENV)/bin/python -m pip install -qq -e ".[dev,mutation]"
	@touch $@

mutation: $(MUTATION_VENV)/.installed
	AGNO_TELEMETRY=false $(MUTATION_VENV)/bin/python tools/mutation.py

clean:
	rm -rf $(VENV) $(LOWEST_VENV) $(CONFORMANCE_VENV) $(MUTATION_VENV) $(DOCS_VENV) site mutants mutants-canary .pytest_cache .mypy_cache .ruff_cache
