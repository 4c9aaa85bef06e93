# guard — two commands set everything up: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint typecheck unit bench clean lock native

# The per-reply check modules compiled with mypyc (guard/native.py): rebuilt when any source of
# the package changes; `import guard` uses them only while they match the sources.
NATIVE := guard/_native/manifest.json
$(NATIVE): $(STAMP) $(shell find guard -name '*.py' -not -path 'guard/_native/*')
	GUARD_NATIVE=off $(BIN)/python -m guard.native_build

native: $(NATIVE)

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/guard demo

test: $(STAMP) $(NATIVE)
	$(BIN)/ruff check guard tests bench
	$(BIN)/mypy
	GUARD_NATIVE=require $(BIN)/python -m pytest

# Pin the resolved environment `make test` runs in (tests/security/test_lock.py checks it).
lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable --exclude pip > requirements.lock

# `make bench BENCH_ARGS=--quick` for smaller samples; `--only facts,pii` for a subset
bench: $(STAMP) $(NATIVE)
	GUARD_NATIVE=require $(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis guard/_native
