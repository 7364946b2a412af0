# `make` lists the targets. Everything runs from the project's own .venv.
PY := .venv/bin/python

.PHONY: help install run test check fmt bench screenshots

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

.venv/bin/python:
	python3 -m venv .venv

install: .venv/bin/python ## create .venv and install onduty with its dev tools
	.venv/bin/pip install -q -e '.[dev]'

test: install ## the whole test suite (what CI runs)
	$(PY) -m pytest

check: install ## lint, format check, mypy --strict
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/mypy

fmt: install ## format and autofix
	.venv/bin/ruff format src tests bench
	.venv/bin/ruff check --fix src tests bench

screenshots: install ## refresh docs/screenshots from the browser tests
	ONDUTY_SCREENSHOTS=1 $(PY) -m pytest -q tests/e2e

bench: install ## the benchmarks under bench/ (not part of the tests)
	$(PY) bench/bench_routing.py
	$(PY) bench/bench_simulator.py
