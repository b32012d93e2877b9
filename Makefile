# Two commands: `make run` serves the site, `make test` runs the whole suite.
# Both set up everything first (virtualenv, packages, database, fixtures) and are safe to repeat.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test setup install lint clean serve bench stress

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed
	@test -d node_modules/axe-core || ! command -v npm >/dev/null || npm ci --no-audit --no-fund

# Fixtures are validated and loaded into an empty database only, so local edits are never lost;
# load_fixtures records a revision for each row it writes and indexes the incidents for search.
setup: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_fixtures --if-empty fixtures/*.json
	$(BIN)/python manage.py update_search_index

run: setup
	@echo ""
	@echo "  postmortems is at http://127.0.0.1:$(PORT)/"
	@echo "  Editors: create an admin account with '$(BIN)/python manage.py createsuperuser',"
	@echo "  then sign in at http://127.0.0.1:$(PORT)/admin/"
	@echo ""
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Production: DEBUG off, so SECRET_KEY and ALLOWED_HOSTS must be set; see README.
serve: export DEBUG := false
serve: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py check --deploy
	$(BIN)/gunicorn --config gunicorn.conf.py postmortems.wsgi

# Measurements, not tests: see the docstrings of bench/bench.py and bench/stress.py.
bench: install
	$(BIN)/python -m bench.bench

stress: install
	$(BIN)/python -m bench.stress

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup lint
	$(BIN)/python manage.py check --fail-level WARNING
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles screenshots
