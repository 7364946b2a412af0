# `make` lists the targets. Everything runs from the project's own .venv.
PY := .venv/bin/python
LINTED := src tests bench

.PHONY: help install test check fmt bench screenshots

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

.venv/bin/python:
	python3 -m venv .venv

install: .venv/bin/python ## create .venv and install onduty with its dev tools
	.venv/bin/pip install -q -e '.[dev]'

test: install ## the whole test suite (what CI runs)
	$(PY) -m pytest

check: install ## lint, format check, mypy --strict
	.venv/bin/ruff check $(LINTED)
	.venv/bin/ruff format --check $(LINTED)
	.venv/bin/mypy

fmt: install ## format and autofix
	.venv/bin/ruff format $(LINTED)
	.venv/bin/ruff check --fix $(LINTED)

screenshots: install ## refresh docs/screenshots from the browser tests
	ONDUTY_SCREENSHOTS=1 $(PY) -m pytest -q tests/e2e

bench: install ## every benchmark under bench/, with its floor (about 7 minutes; not part of the tests)
	@# The sources' bytecode, as an installed onduty has it (pip compiles it): where
	@# PYTHONDONTWRITEBYTECODE is set, every server start would compile them again.
	$(PY) -m compileall -q src
	$(PY) bench/bench_simulator.py
	$(PY) bench/bench_routing.py
	$(PY) bench/bench_commit.py --seconds 3
	$(PY) bench/bench_api.py --seconds 4 --rounds 3
	$(PY) bench/bench_api.py --agents 15000 --rate 1000 --seconds 20 --concurrency 200
	@if pg_isready -q -h 127.0.0.1 -p 5432; then \
		psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS onduty_bench" -c "CREATE DATABASE onduty_bench" && \
		$(PY) bench/bench_api.py --seconds 3 --rounds 3 --database postgresql://postgres@127.0.0.1:5432/onduty_bench; \
	else echo "PostgreSQL is not on 127.0.0.1:5432: its status-change figure is skipped"; fi
	$(PY) bench/bench_fanout.py
	$(PY) bench/bench_restart.py
	$(PY) bench/bench_reports.py
