# Lakehouse des indicateurs économiques UEMOA — the user's interface.
# `make help` lists every target. Settings: conf/lakehouse.env (see conf/lakehouse.env.example).

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
AIRBYTE_VENV := .venv-airbyte
AIRBYTE_STAMP := $(AIRBYTE_VENV)/.installed
PIP_FLAGS := --quiet --disable-pip-version-check
CLI := $(PY) -m lakehouse

.PHONY: help setup up down status beeline ingest register reconcile dbt-debug dbt-run dbt-test dbt-build dbt-docs dbt-freshness maintain compact rewrite-manifests expire-snapshots remove-orphans table-health snapshots rollback run test test-unit test-tools bench settings verify-jars compose-config lock clean

help: ## List the targets, one line each
	@echo "Lakehouse UEMOA — cibles make :"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV_STAMP): pyproject.toml conf/python-constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 est requis (trouvé %d.%d) : make PYTHON=python3.11 ..." % sys.version_info[:2])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installation des dépendances Python épinglées dans $(VENV) ..."
	@set -o pipefail; $(PY) -m pip install $(PIP_FLAGS) -c conf/python-constraints.txt -e '.[dev]' 2>&1 \
	  | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
	@touch $@

$(AIRBYTE_STAMP): ingestion/requirements-airbyte.txt
	@test -x $(AIRBYTE_VENV)/bin/python || $(PYTHON) -m venv $(AIRBYTE_VENV)
	@echo "installation du connecteur Airbyte (airbyte-cdk) dans $(AIRBYTE_VENV) ..."
	@set -o pipefail; $(AIRBYTE_VENV)/bin/python -m pip install $(PIP_FLAGS) -r ingestion/requirements-airbyte.txt 2>&1 \
	  | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
	@touch $@

setup: $(VENV_STAMP) $(AIRBYTE_STAMP) ## Create .venv and .venv-airbyte, install pinned deps, fetch and verify the Spark jars, create conf/lakehouse.env
	@$(CLI) setup

up: setup ## Start SeaweedFS (S3 + Iceberg REST) and the Spark Thrift Server, wait until healthy
	@$(CLI) up

down: ## Stop the services started by `make up`
	@if [ -x $(PY) ]; then $(CLI) down; else echo "rien à arrêter (pas de $(VENV))"; fi

status: ## Show each service, its port, PID and health
	@$(CLI) status

beeline: ## Open Beeline on the Thrift server (SQL="select 1" runs one statement and exits)
	@$(CLI) beeline $(if $(SQL),--sql "$(SQL)")

ingest: setup ## Run the Airbyte connector for every stream and land Parquet + Snappy files in S3 (bronze/)
	@$(CLI) ingest $(STREAMS)

register: setup ## Register the landed files as Iceberg tables in lakehouse.bronze (exactly once), then reconcile
	@$(CLI) register $(STREAMS)

reconcile: setup ## Check landed files = ledger + quarantine and rows per file in bronze; fails on any difference
	@$(CLI) reconcile $(STREAMS)

dbt-debug: setup ## Check dbt's connection to the Thrift server (dbt debug)
	@$(CLI) dbt debug

dbt-run: setup ## Build the silver and gold models through the Thrift server (dbt run, seeds first)
	@$(CLI) dbt seed && $(CLI) dbt run

dbt-test: setup ## Run the dbt data tests and unit tests
	@$(CLI) dbt test

dbt-build: setup ## Seeds, models and tests in dependency order (dbt build): the pipeline's dbt step
	@$(CLI) dbt build

dbt-docs: setup ## Generate the static dbt documentation site into dbt/target/static_index.html
	@$(CLI) dbt docs generate --static && echo "documentation : dbt/target/static_index.html"

dbt-freshness: setup ## Check the bronze sources' freshness (dbt source freshness on _airbyte_extracted_at); fails past error_after
	@$(CLI) dbt source freshness

MAINT_ARGS = $(if $(TABLE),--table $(TABLE)) $(if $(filter 1 yes true,$(APPLY)),--apply)

maintain: setup ## Iceberg maintenance of every table (TABLE=ns.t for one): compact, manifests, expire, orphans (APPLY=1 deletes)
	@$(CLI) maintain $(MAINT_ARGS)

compact: setup ## Compact small data files (rewrite_data_files) under conf/maintenance.toml; TABLE=ns.t for one table
	@$(CLI) compact $(MAINT_ARGS)

rewrite-manifests: setup ## Rewrite the manifests (rewrite_manifests); TABLE=ns.t for one table
	@$(CLI) rewrite-manifests $(MAINT_ARGS)

expire-snapshots: setup ## Expire old snapshots (age and retain_last of the policy); TABLE=ns.t for one table
	@$(CLI) expire-snapshots $(MAINT_ARGS)

remove-orphans: setup ## List orphan files older than the policy window (>= 24 h); APPLY=1 deletes them
	@$(CLI) remove-orphans $(MAINT_ARGS)

table-health: setup ## Per table: snapshots, files, sizes, small files, manifests, and what maintain would do
	@$(CLI) table-health $(if $(TABLE),--table $(TABLE))

snapshots: setup ## Snapshot history of TABLE=ns.t (ids for time travel and rollback)
	@$(CLI) snapshots --table "$(TABLE)"

rollback: setup ## Roll TABLE=ns.t back to SNAPSHOT=<id> or TIMESTAMP='yyyy-mm-dd hh:mm:ss' (UTC), printing what changes
	@$(CLI) rollback --table "$(TABLE)" $(if $(SNAPSHOT),--snapshot $(SNAPSHOT)) $(if $(TIMESTAMP),--timestamp "$(TIMESTAMP)")

run: setup ## Run the whole pipeline on the local stack (starts it if needed), then print a summary
	@$(CLI) run

test: setup test-tools ## Run all tests (unit + integration on a private stack started and stopped by the tests)
	@$(PY) -m pytest $(PYTEST_ARGS)

test-unit: setup ## Run only the tests that need no service
	@$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

test-tools: ## Install the test-only tools (docker-compose, to validate docker-compose.yml)
	@command -v docker-compose >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installation de docker-compose (Debian) pour valider docker-compose.yml ..."; \
	    (apt-get install -y -q docker-compose >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q docker-compose >/dev/null)) \
	      || echo "AVERTISSEMENT : docker-compose n'a pas pu être installé ; le test de docker-compose.yml sera sauté"; \
	  else echo "AVERTISSEMENT : installez docker-compose (sudo apt-get install docker-compose) pour valider docker-compose.yml"; fi; }

bench: setup ## Run the benchmarks (BENCH="name ..." to choose), medians in bench/results/
	@$(PY) -m bench $(BENCH)

settings: setup ## Print the effective settings and where each comes from (secrets masked)
	@$(CLI) settings

verify-jars: setup ## Re-verify the SHA-256 of every runtime jar
	@$(CLI) verify-jars

compose-config: setup test-tools ## Validate docker-compose.yml with conf/lakehouse.env
	@docker-compose --env-file conf/lakehouse.env -f docker-compose.yml config --quiet && echo "docker-compose.yml valide"

lock: $(VENV_STAMP) $(AIRBYTE_STAMP) ## Re-pin the transitive Python dependencies into conf/python-constraints.txt
	@{ echo "# Transitive Python dependencies, pinned (pip -c). Regenerate with \`make lock\` after changing pyproject.toml."; \
	  $(PY) -m pip freeze --exclude-editable | grep -v '^uemoa-lakehouse'; } > conf/python-constraints.txt
	@{ sed -n '1,3p' ingestion/requirements-airbyte.txt; $(AIRBYTE_VENV)/bin/python -m pip freeze; } > ingestion/requirements-airbyte.tmp \
	  && mv ingestion/requirements-airbyte.tmp ingestion/requirements-airbyte.txt

clean: down ## Stop the services and remove the virtualenvs and caches (keeps data in .lakehouse/ and ~/.cache)
	rm -rf $(VENV) $(AIRBYTE_VENV) .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
