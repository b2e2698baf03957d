# Open Verwerkingenlog — the two commands of the README: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
API_LINT_STAMP := tools/api-lint/node_modules/.installed
BROWSER_STAMP := tests/browser/node_modules/.installed
CHECKOV_STAMP := .venv-checkov/.installed

.PHONY: install run test test-sqlite test-ha test-image test-k8s lint lint-api format clean browser-deps bench sync-client fuzz

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[server,client,dev]'
	touch $(STAMP)

## Start the register on the embedded default (SQLite under ./data), with demo clients and curl commands.
run: install
	$(BIN)/verwerkingenlog demo --host 127.0.0.1 --port $(or $(PORT),8000)

## The whole suite, against SQLite and PostgreSQL (DATABASE_URL of the test server: TEST_POSTGRES_URL).
test: install browser-deps
	$(BIN)/pytest $(PYTEST_ARGS)

## Failover on a real cluster (tests/ha/failover.py, docs/deployment.md#high-availability): etcd and two PostgreSQL 15
## under Patroni, each in a network namespace of its own, synchronous replication; kill -9 of the primary, a network
## cut of the primary and a switchover under a steady POST load. Needs root and Debian's patroni and etcd-server;
## about 2.5 to 3.5 minutes (bounded at 15). Not part of `make test`. ARGS=--keep keeps the logs, ARGS="--faults kill" runs one fault.
test-ha: install
	$(BIN)/python -m tests.ha.failover $(ARGS)

## The NL API Design Rules (Spectral, tools/api-lint) over the served OpenAPI documents: the project's ruleset and
## the official Logius linter.yaml (../shared/adr/, or ADR_OFFICIAL_RULESET); fails on new findings.
## ADR_RULESET=/path/to/spectral.yml runs only that ruleset; docs/api-design-rules.md.
lint-api: install $(API_LINT_STAMP)
	$(BIN)/python tools/api-lint/lint.py $(if $(ADR_RULESET),--ruleset $(ADR_RULESET))

$(API_LINT_STAMP): tools/api-lint/package.json tools/api-lint/package-lock.json
	cd tools/api-lint && npm ci --no-audit --no-fund --loglevel=error
	touch $(API_LINT_STAMP)

## The portal's browser tests: a real OpenID provider (oidc-provider) and axe-core from npm (tests/browser);
## the browser is Debian's chromium (.ci/run installs it), never a downloaded one.
browser-deps: $(BROWSER_STAMP)

$(BROWSER_STAMP): tests/browser/package.json tests/browser/package-lock.json
	@command -v chromium >/dev/null || { echo "Installing Debian's chromium for the browser tests (needs root)…"; \
	  apt-get update -qq && apt-get install -y -qq chromium; }
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	touch $(BROWSER_STAMP)

## The OCI image (Containerfile) built and run: migrate, serve, verify, SIGTERM (tools/image/test-image.sh; needs
## podman, runc, debootstrap and PostgreSQL on 127.0.0.1:5432). The base images are cached: later runs are faster.
test-image: install
	tools/image/test-image.sh

## checkov over deploy/ (base and production overlay) and the Containerfile; skips only those of
## deploy/checkov-skips.yaml, each justified in docs/deployment.md. Rendering and schema validation are in `make test`.
test-k8s: $(CHECKOV_STAMP)
	$(BIN)/python tools/k8s/checkov.py

$(CHECKOV_STAMP): pyproject.toml | install
	test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet '.[checkov]'
	touch $(CHECKOV_STAMP)

lint: install
	$(BIN)/python tools/gen_sync_client.py --check
	$(BIN)/ruff check src tests examples bench
	$(BIN)/ruff format --check src tests examples bench
	$(BIN)/mypy
	$(BIN)/mypy src/verwerkingenlog bench

## Fuzz every parser the register exposes (tests/fuzz/targets.py, atheris) for FUZZ_SECONDS each (default 30;
## FUZZ_TARGETS="post_body otlp_json" for some). Crashes land in tests/fuzz/crashes/<target>/ (README, Tests).
FUZZ_SECONDS ?= 30
FUZZ_STAMP := $(VENV)/.fuzz-installed

fuzz: install $(FUZZ_STAMP)
	$(BIN)/python -m tests.fuzz.run --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

$(FUZZ_STAMP): pyproject.toml
	$(BIN)/pip install --quiet -e '.[server,client,dev,fuzz]'
	touch $(FUZZ_STAMP)

## Benchmarks next to their anchors (docs/performance.md): `make bench` (full) or `make bench ARGS=--quick` (< 2 min).
## Needs PostgreSQL (BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres); never part of `make test`.
bench: install
	$(BIN)/python -m bench.run $(ARGS)

## The synchronous client (client/sync.py) is generated from the asynchronous one (client/aio.py) by unasync.
sync-client: install
	$(BIN)/python tools/gen_sync_client.py

format: install
	$(BIN)/ruff format src tests examples bench
	$(BIN)/ruff check --fix src tests examples bench

clean:
	rm -rf $(VENV) .venv-checkov data .pytest_cache .mypy_cache .ruff_cache .hypothesis
