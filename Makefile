# Mesh Portal developer commands. `make help` lists them.
#
#   make demo     fresh laptop: embedded PostgreSQL + Redis, demo data, web + worker + beat
#   make test     the test suite against the local PostgreSQL / MariaDB / Redis (what CI runs)
#
# Everything runs from the project virtualenv in .venv, created on first use.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Interpreter used to create .venv: python3.11 when available, else python3.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
VENV_PY := $(VENV)/bin/python
# Re-install only when pyproject.toml changed since the last successful install.
INSTALL_STAMP := $(VENV)/.install-stamp
EXTRAS := embedded,dev

PYTEST_WORKERS ?= 2
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-k grants -x"`.
PYTEST_ARGS ?=
# Settings for `make check`: the test settings import without starting any embedded service.
CHECK_SETTINGS ?= mesh_portal.settings.test

.PHONY: help venv install demo lint test test-fast audit bench-smoke stop check clean distclean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV_PY):
	@test -n "$(PYTHON)" || { echo "python3.11 or python3 is required to create $(VENV)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(INSTALL_STAMP): pyproject.toml | $(VENV_PY)
	$(VENV_PY) -m pip install --disable-pip-version-check -e '.[$(EXTRAS)]'
	@touch $@

venv: $(INSTALL_STAMP) ## Create .venv and install the project with the embedded and dev extras

install: $(INSTALL_STAMP) ## Same as venv (quick when pyproject.toml did not change)

demo: install ## Run the demo: embedded services, migrate, demo data, web on http://127.0.0.1:8000
	$(VENV_PY) -m mesh_portal.demo_runner

lint: install ## ruff (lint and format check) and import-linter (app layers, selectors never import services)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

test: lint ## Lint, then the test suite (local PostgreSQL, MariaDB and Redis must be up)
	DJANGO_SETTINGS_MODULE=mesh_portal.settings.test $(VENV_PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-fast: install ## The suite without the slow tests (worker, browser, schemathesis), for the edit-test loop
	DJANGO_SETTINGS_MODULE=mesh_portal.settings.test $(VENV_PY) -m pytest -n $(PYTEST_WORKERS) -m "not slow" $(PYTEST_ARGS)

audit: install ## Known-vulnerability audit of the dependencies (pip-audit; AUDIT_STRICT=1: fail when offline)
	VENV_PY=$(VENV_PY) bash .ci/audit

# Benchmarks' Redis database for --smoke (grant_latency flushes it): not the tests' (13) nor the demo's.
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14

bench-smoke: install ## Run every bench/*.py at its --smoke size: it must complete and print its summary line
	@failed=""; passed=0; for script in bench/*.py; do \
		case "$$(basename $$script)" in _*) continue;; esac; \
		echo "== $$script --smoke"; \
		log=$$(mktemp); \
		if BENCH_REDIS_URL=$(BENCH_REDIS_URL) $(VENV_PY) $$script --smoke > $$log 2>&1; then \
			last=$$(grep -v '^[[:space:]]*$$' $$log | tail -n 1); \
			if echo "$$last" | grep -Eq '^[a-z_]+: .*='; then echo "   ok: $$last"; passed=$$((passed + 1)); \
			else cat $$log; echo "   FAILED: no summary line at the end"; failed="$$failed $$script"; fi; \
		else cat $$log; echo "   FAILED: non-zero exit status"; failed="$$failed $$script"; fi; \
		rm -f $$log; \
	done; \
	nfailed=$$(echo $$failed | wc -w); \
	echo "bench-smoke: $$passed passed, $$nfailed failed"; \
	if [ -n "$$failed" ]; then echo "failed:$$failed"; exit 1; fi

stop: ## Stop the embedded PostgreSQL and Redis (their data stays under var/)
	@if [ -x $(VENV_PY) ]; then \
		$(VENV_PY) -c 'from mesh_portal import embedded; embedded.stop_all()'; \
	fi

check: install ## Django system checks and "no missing migrations"
	DJANGO_SETTINGS_MODULE=$(CHECK_SETTINGS) $(VENV_PY) manage.py check
	DJANGO_SETTINGS_MODULE=$(CHECK_SETTINGS) $(VENV_PY) manage.py makemigrations --check --dry-run

clean: ## Remove caches and build output (keeps .venv and the embedded databases)
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	rm -rf .pytest_cache build dist *.egg-info var/staticfiles var/celerybeat-schedule*

distclean: stop clean ## Also delete .venv and the embedded PostgreSQL/Redis data under var/
	rm -rf $(VENV) var/pgdata var/redis
