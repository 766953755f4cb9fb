.PHONY: install check test fmt golden
VENV ?= .venv
PY := $(VENV)/bin/python

install:
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e . -r requirements-dev.txt

check:
	$(VENV)/bin/ruff format --check dedup tests bench
	$(VENV)/bin/ruff check dedup tests bench
	$(VENV)/bin/mypy dedup

test:
	$(VENV)/bin/pytest

fmt:
	$(VENV)/bin/ruff check --fix dedup tests bench
	$(VENV)/bin/ruff format dedup tests bench

golden:
	DEDUP_UPDATE_GOLDEN=1 $(VENV)/bin/pytest tests/test_golden.py
