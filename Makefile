# The two commands a newcomer needs: `make run` (demo) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Links the demo prints and e-mails (survey invitations, cases) point at the server make run starts.
SURVEY_BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: run test lint typecheck pytest install install-dev seed benchmark-seed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: install, migrate the SQLite demo database, collect the static files, seed it if empty, serve on 127.0.0.1:8000
run: export SURVEY_BASE_URL := $(SURVEY_BASE_URL)
run: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py seed_surveys --if-empty
	$(BIN)/python manage.py seed_reviews --if-empty
	$(BIN)/python manage.py seed_complaints --if-empty
	$(BIN)/python manage.py recompute_consistency
	@echo "Demo ready: sign in at $(SURVEY_BASE_URL)/ (users and password in README); e-mails are written to var/mail/"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## test: install dev extras, lint, type-check and run the tests (DATABASE_URL picks the database)
test: install-dev lint typecheck pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy .

pytest: install-dev
	scripts/ensure_test_tools.sh
	$(BIN)/pytest

benchmark-seed: install
	$(BIN)/python benchmarks/seed.py

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles
