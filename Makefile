# Sanji: `make run` starts the platform on the Qujialing fixture; `make test` runs the whole suite.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-sqlite test-postgres lint format schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/sanji run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: install
	$(BIN)/sanji schema export

# Each database runs in its own pytest process: one process must not switch Tortoise between them.
test-sqlite: install
	SANJI_TEST_DB=sqlite $(BIN)/pytest -q

test-postgres: install
	@if [ -n "$$SANJI_TEST_POSTGRES_URL" ]; then \
		SANJI_TEST_DB=postgres $(BIN)/pytest -q; \
	else \
		echo "SANJI_TEST_POSTGRES_URL is not set: skipping the PostgreSQL run"; \
	fi

# The two suites run side by side (one core each); each one's output is printed whole when it ends.
test: lint
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
