# Maintaining the Lastmile template. `make help` lists the targets; CI runs `make test` (see .ci/run).
.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
# Use the uv on PATH, or bootstrap one into .tools/ so that Python and make are all a machine needs.
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
export PATH := $(dir $(UV)):$(PATH)
# Compiled bytecode makes MLflow and BentoML imports fast where PYTHONDONTWRITEBYTECODE is set.
export UV_COMPILE_BYTECODE := 1
VENV := .venv

.PHONY: help setup system-packages test test-fast demo bench bench-setup lint docs clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet 'uv>=0.8'

$(VENV)/.synced: pyproject.toml $(UV)
	$(UV) sync --quiet
	@touch $@

setup: $(VENV)/.synced ## Install the template's development environment (cookiecutter, DVC, pytest)

system-packages: ## Install the Debian packages the tests start for real (podman, a registry, ...), when missing
	bash .ci/system-packages

test: setup system-packages ## Run every template test, the end-to-end bake included (about 50 min on 2 cores)
	$(VENV)/bin/pytest

test-fast: setup ## Run the template tests without the end-to-end bake (under a minute)
	$(VENV)/bin/pytest -m "not e2e"

demo: setup ## Bake the default project into a temporary folder and run it to a served prediction
	@out=$$(mktemp -d) && \
	version=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])') && \
	$(VENV)/bin/cookiecutter . --no-input --output-dir "$$out" python_version=$$version && \
	$(MAKE) -C "$$out/penguin-species" all && \
	echo "demo: the baked project is in $$out/penguin-species"

bench-setup: ## Install wrk, the benchmark's load generator (Debian's package), when missing
	@command -v wrk >/dev/null || { apt-get install -y -qq --no-install-recommends wrk || { apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk; }; }

bench: setup bench-setup ## Benchmark a baked project: first prediction, serving vs FastAPI and the ceilings, CI stages, image size (RUNS=3, ~50 min)
	$(VENV)/bin/python -m benchmarks --runs $(or $(RUNS),3) $(BENCH_ARGS)

lint: setup ## Lint the template's own Python (hooks, tests, benchmarks, the docs' generator)
	$(VENV)/bin/ruff check hooks tests benchmarks docs
	$(VENV)/bin/ruff format --check hooks tests benchmarks docs

docs: setup ## Write docs/options.md from cookiecutter.json and docs/options.yaml (a test checks it is current)
	$(VENV)/bin/python docs/generate_options.py

clean: ## Remove the development environments
	rm -rf $(VENV) .tools .pytest_cache
