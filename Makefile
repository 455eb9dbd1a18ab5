# Sanji: `make run` starts the platform on the Qujialing fixture; `make test` runs the whole suite.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: install install-test run test test-sqlite test-postgres lint format schema clean

# What running needs; the test tools (pytest, ruff, schemathesis, selenium...) come with `make test`.
$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(RUN_STAMP)

install-test: $(TEST_STAMP)

run: install
	$(BIN)/sanji run

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: install
	$(BIN)/sanji schema export

# Each database runs in its own pytest process: one process must not switch Tortoise between them.
# Their lines are prefixed with the database, so both runs' progress shows as it goes.
# The whole-stack browser test makes its own database: it runs with PostgreSQL's run when there is
# one, which has less else to do than SQLite's.
STACK_IN := $(if $(SANJI_TEST_POSTGRES_URL),postgres,sqlite)
# Each run ends with its slowest tests, where the suite's time goes (the budget is 10 minutes).
PYTEST := $(BIN)/pytest -q --durations=12 --durations-min=5

test-sqlite: install-test
	@set -o pipefail; SANJI_TEST_DB=sqlite SANJI_TEST_STACK_IN=$(STACK_IN) $(PYTEST) 2>&1 | sed -u 's/^/[sqlite]   /'

test-postgres: install-test
	@if [ -n "$$SANJI_TEST_POSTGRES_URL" ]; then \
		set -o pipefail; SANJI_TEST_DB=postgres SANJI_TEST_STACK_IN=$(STACK_IN) $(PYTEST) 2>&1 | sed -u 's/^/[postgres] /'; \
	else \
		echo "SANJI_TEST_POSTGRES_URL is not set: skipping the PostgreSQL run"; \
	fi

# The two suites run side by side (one core each). Their lines interleave as they come, each
# prefixed with its database (make's --output-sync would hold a run's output until it ends).
test: lint
	@$(MAKE) --no-print-directory -j2 test-sqlite test-postgres

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
