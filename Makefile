# DataSurface developer tasks. `make` (or `make help`) lists them.
#
# Everything runs from a virtualenv at $(VENV) (default .venv at the repo root), created
# on demand with the first python3 on PATH. It is re-installed only when pyproject.toml
# is newer than its stamp file, so repeated `make test` runs do not touch the network.

VENV ?= .venv
PYTHON3 ?= python3
PYTEST_ARGS ?=

BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-all-extras

# Scratch dirs that may hold running embedded Postgres servers (tests, local stack).
PG_SCRATCH := .pytest_pg

.DEFAULT_GOAL := help
.PHONY: help venv test check lint format-check typecheck fmt lint-model bench clean distclean

help: ## List targets with a one-line description
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  Variables: VENV=$(VENV)  PYTEST_ARGS='$(PYTEST_ARGS)'"

# The interpreter is the "venv exists" marker; uv is a separate target so that a failed
# pip download is retried on the next run instead of leaving a venv without uv.
$(PY):
	$(PYTHON3) -m venv $(VENV)

$(BIN)/uv: | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check uv

# --python: uv would otherwise pick the venv from $$VIRTUAL_ENV or ./.venv, not $(VENV).
# The airflow and notebooks extras too: DAGs run in real Airflow 3, tutorials are executed.
# --compile-bytecode and compileall: with PYTHONDONTWRITEBYTECODE set (as in the image and
# CI), nothing else ever writes .pyc files and every `datasurface job run` would compile
# SQLAlchemy and the rest from source first (about 2 s of CPU before its first SQL).
$(STAMP): pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install --python $(PY) --compile-bytecode -e '.[test,airflow,notebooks]'
	$(PY) -m compileall -q datasurface
	@touch $@

venv: $(STAMP) ## Create/refresh the virtualenv with the test, airflow and notebooks extras

lint: $(STAMP) ## ruff lint only
	$(BIN)/ruff check .

format-check: $(STAMP) ## ruff format --check only
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy (strict; files and settings from pyproject.toml)
	$(BIN)/mypy

check: lint format-check typecheck ## ruff lint + format check + mypy

# pytest exit code 5 means "no tests collected": a broken test layout, not a pass.
test: check ## check, then pytest (extra args: PYTEST_ARGS='-k merge -x')
	@rc=0; $(BIN)/pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "ERROR: pytest collected no tests (exit 5)" >&2; fi; \
	exit $$rc

fmt: $(STAMP) ## ruff format + ruff check --fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint-model: $(STAMP) ## Lint the example model in sandbox/model
	$(BIN)/datasurface lint sandbox/model

bench: $(STAMP) ## Run the benchmarks (last lines: name=value)
	$(PY) -m benchmarks

# Stop servers before deleting their data dirs, or they linger holding ports.
clean: ## Remove build/test artefacts and test Postgres dirs (keeps the venv)
	@if [ -x $(PY) ] && [ -d $(PG_SCRATCH) ]; then $(PY) -m datasurface.embedded_pg stop-all --root $(PG_SCRATCH) || true; fi
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache $(PG_SCRATCH) .coverage htmlcov
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -print0 \
		| xargs -0 rm -rf

distclean: clean ## clean, and remove the virtualenv too
	rm -rf $(VENV)

include sandbox/sandbox.mk
include sandbox/local.mk
