# Two commands: `make run` serves the site, `make test` runs the whole suite.
# `make run` sets up everything first (virtualenv, packages, database, fixtures); `make test` sets
# up the virtualenv and packages and never touches the development database. Both are safe to repeat.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test setup install lint clean serve migrate bench bench-sync stress stampede

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed
	@test -d node_modules/axe-core || ! command -v npm >/dev/null || npm ci --no-audit --no-fund

# Fixtures are validated and loaded into an empty database only, so local edits are never lost;
# load_fixtures records a revision for each row it writes and indexes the incidents for search.
setup: install migrate
	$(BIN)/python manage.py load_fixtures --if-empty fixtures/*.json
	$(BIN)/python manage.py update_search_index

run: setup
	@echo ""
	@echo "  postmortems is at http://127.0.0.1:$(PORT)/"
	@echo "  Editors: create an admin account with '$(BIN)/python manage.py createsuperuser',"
	@echo "  then sign in at http://127.0.0.1:$(PORT)/admin/"
	@echo ""
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Once per deploy, before `make serve`: app servers starting together must not migrate at once.
migrate: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py rebuild_summaries --if-empty

# Production: DEBUG off, so SECRET_KEY and ALLOWED_HOSTS must be set; see README.
serve: export DEBUG := false
serve: install
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py check --deploy
	$(BIN)/python -m postmortems.serve

# Measurements, not tests: see the docstrings of bench/bench.py, bench/sync.py, bench/stress.py
# and bench/stampede.py. `make bench-sync` runs only the status-page sync's part.
bench: install
	$(BIN)/python -m bench.bench
	$(BIN)/python -m bench.sync

bench-sync: install
	$(BIN)/python -m bench.sync

# `make stampede` runs only stress's second part (publishing under load at 100,000 incidents).
stress: install
	$(BIN)/python -m bench.stress
	$(BIN)/python -m bench.stampede

stampede: install
	$(BIN)/python -m bench.stampede

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The same set-up as `make run` (migrate, load the fixtures), into a throwaway SQLite file unless
# DATABASE_URL names a database, so the development db.sqlite3 is never created or migrated;
# pytest then makes its own test databases.
test: install lint
	export DATABASE_URL="$${DATABASE_URL:-sqlite:///$$(mktemp -d)/setup.sqlite3}" && \
	$(BIN)/python manage.py migrate --noinput --verbosity 0 && \
	$(BIN)/python manage.py load_fixtures --if-empty fixtures/*.json && \
	$(BIN)/python manage.py check --fail-level WARNING && \
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles screenshots
