# Lakehouse des indicateurs économiques UEMOA — the user's interface.
# `make help` lists every target, one line each, grouped by the `##@` section lines below.
# Settings: conf/lakehouse.env (see conf/lakehouse.env.example).

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
AIRBYTE_VENV := .venv-airbyte
AIRBYTE_STAMP := $(AIRBYTE_VENV)/.installed
PIP_FLAGS := --disable-pip-version-check --progress-bar off
# uv (pinned in conf/python-constraints.txt, installed by pip into .venv) installs both virtualenvs, with their
# bytecode compiled as pip does: without it, under PYTHONDONTWRITEBYTECODE=1 as on our machines, every Python
# process compiles its imports again (a test run without it: 64 min, against 51 min the day before with pip; one
# run each, the machine's own variation included). Fresh clone, 2 cores, one run each, pip and uv caches warm,
# timed with `time make setup` (not a bench): .venv 3 min 52 s with pip, 2 min 09 s with uv; .venv-airbyte
# 1 min 06 s against 34 s (uv while other tests ran). pip stays the fallback (uv absent or failed).
UV := $(VENV)/bin/uv
# make test: processes running the test modules side by side (pytest-xdist; 1 = one process, 3 at most; each
# with its own stacks). On 2 cores, two processes took about 25 % less time than one (README, « Tests et benchmarks »).
TEST_PROCESSES ?= 2
# $(call pip_progress,<journal>) : pip's output goes to the log; the terminal gets a line every 25 packages,
# then one before installing (a first install is otherwise minutes of silence), and pip's errors.
define pip_progress
{ tee $(1) | awk '/^Collecting /{n++; if (n % 25 == 0) {printf "  %d paquets résolus (téléchargés ou pris dans le cache) ...\n", n; fflush()}} \
    /^Installing collected packages/{printf "  %d paquets résolus ; installation ...\n", n; fflush()} \
    /^ERROR|^error:/{print; fflush()}'; }
endef
# $(call uv_progress,<journal>) : uv's output goes to the log; the terminal gets its three stages and its errors.
define uv_progress
{ tee $(1) | awk '/^Resolved /{printf "  %d paquets résolus ...\n", $$2; fflush()} \
    /^Prepared /{printf "  %d paquets téléchargés ou pris dans le cache ...\n", $$2; fflush()} \
    /^Installed /{printf "  %d paquets installés\n", $$2; fflush()} \
    /^error:|^  Caused by:/{print; fflush()}'; }
endef
# $(call install_packages,<python du virtualenv>,<arguments de pip install>,<journal>) : uv, or pip if uv fails.
define install_packages
set -o pipefail; \
{ test -x $(UV) && $(UV) pip install --compile-bytecode --python $(1) $(2) 2>&1 | $(call uv_progress,$(3)); } \
  || { test ! -x $(UV) || echo "  uv en échec (journal : $(3)) : nouvel essai avec pip ..."; \
       $(1) -m pip install $(PIP_FLAGS) $(2) 2>&1 | $(call pip_progress,$(3)); } \
  || { echo "ÉCHEC de l'installation des paquets : journal complet dans $(3)"; exit 1; }
endef
# $(call apt_install,<paquet Debian>,<nom>,<conséquence sans lui>) : root installe le paquet, sinon un avertissement.
define apt_install
{ if [ "$$(id -u)" = 0 ]; then \
    echo "installation de $(2) (paquet Debian $(1)) pour les tests ..."; \
    (apt-get install -y -q --no-install-recommends $(1) >/dev/null 2>&1 \
      || (apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $(1) >/dev/null 2>&1)) \
      || echo "AVERTISSEMENT : $(2) n'a pas pu être installé ; $(3)"; \
  else echo "AVERTISSEMENT : installez $(2) (sudo apt-get install $(1)) ; sinon $(3)"; fi; }
endef
CLI := $(PY) -m lakehouse
# FULL=1: every step redoes all its work (LAKEHOUSE_FULL_RUN), even when nothing changed.
FULL_RUN := $(if $(filter 1 yes true,$(FULL)),LAKEHOUSE_FULL_RUN=true)

.PHONY: help setup up down orchestrator cluster-up cluster-down status beeline notebook sql psql rag-index ask ingest register reconcile repair dbt-debug dbt-run dbt-test dbt-build dbt-docs dbt-freshness quality audit-report publish maintain compact rewrite-manifests expire-snapshots remove-orphans table-health snapshots rollback changes serve run test test-unit test-tools lint format bench settings verify-jars compose-config lock clean


$(VENV_STAMP): pyproject.toml conf/python-constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 est requis (trouvé %d.%d) : make PYTHON=python3.11 ..." % sys.version_info[:2])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installation des dépendances Python épinglées dans $(VENV) (la première fois : une à quelques minutes de téléchargements depuis PyPI) ..."
	@$(PY) -m pip install $(PIP_FLAGS) -q -c conf/python-constraints.txt uv >/dev/null 2>&1 || echo "  uv non installé : pip installera les paquets (plus lent)"
	@$(call install_packages,$(PY),-c conf/python-constraints.txt -e '.[dev]',$(VENV)/pip-install.log)
	@touch $@

$(AIRBYTE_STAMP): ingestion/requirements-airbyte.txt | $(VENV_STAMP)
	@test -x $(AIRBYTE_VENV)/bin/python || $(PYTHON) -m venv $(AIRBYTE_VENV)
	@echo "installation du connecteur Airbyte (airbyte-cdk) dans $(AIRBYTE_VENV) ..."
	@$(call install_packages,$(AIRBYTE_VENV)/bin/python,-r ingestion/requirements-airbyte.txt,$(AIRBYTE_VENV)/pip-install.log)
	@touch $@

##@ Démarrer

run: setup ## Tout le pipeline sur la pile locale (la démarre si besoin), seulement ce qui a changé ; FULL=1 refait tout ; AUDIT=0 sans audit
	@$(if $(filter 0 no false,$(AUDIT)),LAKEHOUSE_AUDIT=false) $(FULL_RUN) $(CLI) run

setup: $(VENV_STAMP) $(AIRBYTE_STAMP) ## Crée .venv et .venv-airbyte (dépendances épinglées), extrait et vérifie les jars Spark, compile spark/java/, crée conf/lakehouse.env
	@$(CLI) setup $(if $(filter setup,$(MAKECMDGOALS)),,--quiet)

up: setup ## Démarre SeaweedFS (S3 + catalogue Iceberg REST), le serveur Thrift de Spark et PostgreSQL s'il est installé, attend qu'ils répondent
	@$(CLI) up

down: ## Arrête les services démarrés par `make up`, JupyterLab (`make notebook`) et l'orchestrateur (`make orchestrator`)
	@if [ -x $(PY) ]; then $(CLI) down; else echo "rien à arrêter (pas de $(VENV))"; fi

orchestrator: setup ## Orchestrateur Dagster en arrière-plan : page du lignage et des runs sur 127.0.0.1 (LAKEHOUSE_DAGSTER_PORT), run quotidien planifié (LAKEHOUSE_SCHEDULE_CRON) ; make down l'arrête
	@$(CLI) orchestrator

cluster-up: setup ## Cluster Spark standalone local : un master et WORKERS=2 workers sur 127.0.0.1 (LAKEHOUSE_SPARK_MASTER=spark://127.0.0.1:7077 y envoie le travail)
	@$(CLI) cluster-up $(if $(WORKERS),--workers $(WORKERS))

cluster-down: ## Arrête les workers puis le master du cluster Spark local (make down le fait aussi)
	@if [ -x $(PY) ]; then $(CLI) cluster-down; else echo "rien à arrêter (pas de $(VENV))"; fi

status: ## Chaque service (port, PID, santé), puis la dernière exécution de make run et la fraîcheur des sources
	@$(CLI) status

settings: setup ## Les réglages effectifs et leur origine (secrets masqués)
	@$(CLI) settings

##@ Le pipeline, étape par étape

ingest: setup ## Connecteur Airbyte pour chaque flux (STREAMS=... pour choisir) → Parquet + Snappy dans S3 (bronze/)
	@$(CLI) ingest $(STREAMS)

register: setup ## Fichiers déposés → tables Iceberg de lakehouse.bronze, une seule fois par fichier, puis réconciliation ; sans Spark si rien de neuf (FULL=1 : toujours)
	@$(FULL_RUN) $(CLI) register $(STREAMS)

reconcile: setup ## Vérifie fichiers déposés = registre + quarantaine, et les lignes de chaque fichier dans bronze
	@$(CLI) reconcile $(STREAMS)

repair: setup ## Ce qui remettrait bronze d'accord avec ses fichiers (doublons, lignes manquantes) ; APPLY=1 le fait
	@$(CLI) repair $(STREAMS) $(if $(filter 1 yes true,$(APPLY)),--apply)

##@ dbt : silver et gold

dbt-build: setup ## L'étape dbt de make run seule : dbt build sur une branche d'audit, tests dbt et GX, publication ; FULL=1 reconstruit tout
	@$(if $(filter 0 no false,$(AUDIT)),LAKEHOUSE_AUDIT=false) $(FULL_RUN) $(CLI) dbt-build

dbt-run: setup ## Construit silver et gold par le serveur Thrift, audités comme make run (= dbt-build) ; DBT_TARGET=dev : dev_silver, dev_gold sans audit
	@$(if $(filter 0 no false,$(AUDIT)),LAKEHOUSE_AUDIT=false) $(FULL_RUN) $(CLI) dbt-build

dbt-test: setup ## Tests de données et tests unitaires dbt
	@$(CLI) dbt test

dbt-debug: setup ## Vérifie la connexion de dbt au serveur Thrift (dbt debug)
	@$(CLI) dbt debug

dbt-docs: setup ## Site de documentation dbt statique dans dbt/target/static_index.html
	@$(CLI) dbt docs generate --static && echo "documentation : dbt/target/static_index.html"

dbt-freshness: setup ## Fraîcheur des sources bronze (dbt source freshness sur _airbyte_extracted_at) ; échoue au-delà du seuil
	@$(CLI) dbt source freshness

##@ Qualité des données et publication (Write-Audit-Publish)

quality: setup ## Suites Great Expectations (quality/gx) sur main, résultats dans quality.validation_results, Data Docs
	@$(CLI) quality

audit-report: setup ## Le dernier audit de make run : statut, snapshots main et branche par table, problèmes bloquants
	@$(CLI) audit-report

publish: setup ## Publie le dernier audit en échec, seulement avec FORCE=1 (qui et quand vont dans le snapshot)
	@$(CLI) publish $(if $(filter 1 yes true,$(FORCE)),--force)

##@ Maintenance Iceberg

MAINT_ARGS = $(if $(TABLE),--table $(TABLE)) $(if $(filter 1 yes true,$(APPLY)),--apply)

maintain: setup ## Maintenance Iceberg de toutes les tables (TABLE=ns.t pour une) : compaction, manifestes, expiration, orphelins
	@$(CLI) maintain $(MAINT_ARGS)

compact: setup ## Compacte les petits fichiers de données (rewrite_data_files) selon conf/maintenance.toml ; TABLE=ns.t
	@$(CLI) compact $(MAINT_ARGS)

rewrite-manifests: setup ## Réécrit les manifestes (rewrite_manifests) ; TABLE=ns.t pour une seule table
	@$(CLI) rewrite-manifests $(MAINT_ARGS)

expire-snapshots: setup ## Expire les anciens snapshots (âge et retain_last de la politique) ; TABLE=ns.t
	@$(CLI) expire-snapshots $(MAINT_ARGS)

remove-orphans: setup ## Liste les fichiers orphelins plus vieux que orphan_min_age_hours de conf/maintenance.toml (72 h, jamais moins de 24 h) ; APPLY=1 les supprime
	@$(CLI) remove-orphans $(MAINT_ARGS)

table-health: setup ## Par table : snapshots, fichiers, tailles, petits fichiers, manifestes, et ce que maintain ferait
	@$(CLI) table-health $(if $(TABLE),--table $(TABLE))

snapshots: setup ## Historique des snapshots de TABLE=ns.t (identifiants pour le voyage dans le temps et le retour arrière)
	@$(CLI) snapshots --table "$(TABLE)"

rollback: setup ## Ramène TABLE=ns.t à SNAPSHOT=<id> ou TIMESTAMP='aaaa-mm-jj hh:mm:ss' (UTC), en affichant ce qui change
	@$(CLI) rollback --table "$(TABLE)" $(if $(SNAPSHOT),--snapshot $(SNAPSHOT)) $(if $(TIMESTAMP),--timestamp "$(TIMESTAMP)")

changes: setup ## Changements de TABLE=ns.t depuis FROM=<snapshot|'aaaa-mm-jj hh:mm:ss'> [TO=…] [KEY=col,…] : insertions, suppressions, mises à jour (avant → après)
	@$(CLI) changes --table "$(TABLE)" $(if $(FROM),--from "$(FROM)") $(if $(TO),--to "$(TO)") $(if $(KEY),--key "$(KEY)") $(if $(LIMIT),--limit $(LIMIT))

serve: setup ## Copie de service de gold (et de silver.dim_uemoa_indicators) dans PostgreSQL, seulement les tables dont le snapshot a changé ; FULL=1 recopie tout
	@$(CLI) serve $(if $(filter 1 yes true,$(FULL)),--full)

##@ Interroger

beeline: ## Beeline sur le serveur Thrift (SQL="select 1" exécute une requête et quitte)
	@$(CLI) beeline $(if $(SQL),--sql "$(SQL)")

notebook: setup ## JupyterLab en arrière-plan sur 127.0.0.1 (LAKEHOUSE_JUPYTER_PORT, jeton dans conf/lakehouse.env) ; make down l'arrête
	@$(CLI) notebook

sql: $(VENV_STAMP) ## Lecture rapide sans JVM (pyiceberg + DuckDB) : Q="select ..." [SNAPSHOT=id|table=id] [AS_OF='aaaa-mm-jj hh:mm'] ; sans Q, les tables
	@$(CLI) sql "$$Q" $(if $(SNAPSHOT),$(foreach s,$(SNAPSHOT),--snapshot $(s))) $(if $(AS_OF),--as-of "$(AS_OF)")

rag-index: setup ## Index de recherche sémantique (chromadb) : gold, documentation dbt, documents/ ; incrémental
	@$(CLI) rag-index

psql: $(VENV_STAMP) ## psql sur la copie de service PostgreSQL de make serve (mot de passe lu dans conf/lakehouse.env) : Q="select ..." ou interactif
	@$(CLI) psql "$$Q"

ask: $(VENV_STAMP) ## Question en français : Q="Le Niger a-t-il respecté le critère d'inflation en 2022 ?" [FORMAT=json]
	@$(CLI) ask "$$Q" $(if $(FORMAT),--format $(FORMAT))

##@ Qualité : tests, style, mesures

test: setup test-tools lint ## Tous les tests : style, unitaires, intégration sur des piles privées ; TEST_PROCESSES=2 processus en parallèle
	@$(PY) -m pytest $(if $(filter-out 1,$(TEST_PROCESSES)),-n $(TEST_PROCESSES) --dist loadgroup --no-loadscope-reorder) $(PYTEST_ARGS)

test-unit: setup ## Seulement les tests sans service
	@$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

lint: setup ## Vérifie le style : ruff (Python), sqlfluff (SQL dbt), terraform fmt (si terraform est installé)
	@echo "ruff : vérification et format du Python ..."
	@$(VENV)/bin/ruff check --quiet . && $(VENV)/bin/ruff format --check --quiet . \
	  || { echo "ERREUR : le Python ne suit pas le style (make format corrige ce qui peut l'être)"; exit 1; }
	@echo "sqlfluff : SQL de dbt ..."
	@cd dbt && ../$(VENV)/bin/sqlfluff lint models tests macros --disable-progress-bar --quiet \
	  || { echo "ERREUR : le SQL de dbt ne suit pas le style (make format corrige ce qui peut l'être)"; exit 1; }
	@if command -v terraform >/dev/null; then echo "terraform fmt -check ..."; TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 terraform fmt -check -recursive ingestion/terraform >/dev/null \
	  || { echo "ERREUR : ingestion/terraform n'est pas formaté (terraform fmt -recursive ingestion/terraform)"; exit 1; }; \
	  else echo "terraform absent : terraform fmt -check sauté"; fi
	@echo "style OK"

format: setup ## Corrige le style : ruff format et ruff --fix (Python), sqlfluff fix (SQL dbt), terraform fmt
	@$(VENV)/bin/ruff check --fix --quiet . ; $(VENV)/bin/ruff format --quiet .
	@cd dbt && ../$(VENV)/bin/sqlfluff fix models tests macros --disable-progress-bar --quiet || true
	@if command -v terraform >/dev/null; then TF_CLI_CONFIG_FILE=/dev/null terraform fmt -recursive ingestion/terraform; fi

bench: setup ## Benchmarks (BENCH="nom ..." pour choisir) ; médianes dans bench/results/
	@$(PY) -m bench $(BENCH)

test-tools: ## Installe les outils des tests seulement (docker-compose pour valider docker-compose.yml, serveur PostgreSQL de make serve, Chromium sans écran)
	@command -v docker-compose >/dev/null || $(call apt_install,docker-compose,docker-compose,le test de docker-compose.yml sera sauté)
	@command -v chromium >/dev/null || $(call apt_install,chromium,Chromium,les tests dans un navigateur (Data Docs) seront sautés)
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || $(call apt_install,postgresql,PostgreSQL,les tests de make serve seront sautés)

##@ Outils

verify-jars: setup ## Revérifie l'empreinte SHA-256 de chaque jar
	@$(CLI) verify-jars

compose-config: setup test-tools ## Valide docker-compose.yml avec conf/lakehouse.env
	@docker-compose --env-file conf/lakehouse.env -f docker-compose.yml config --quiet && echo "docker-compose.yml valide"

lock: $(VENV_STAMP) $(AIRBYTE_STAMP) ## Réépingle les dépendances Python transitives dans conf/python-constraints.txt
	@{ echo "# Transitive Python dependencies, pinned (pip -c). Regenerate with \`make lock\` after changing pyproject.toml."; \
	  $(PY) -m pip freeze --exclude-editable | grep -v '^uemoa-lakehouse'; } > conf/python-constraints.txt
	@{ sed -n '1,3p' ingestion/requirements-airbyte.txt; $(AIRBYTE_VENV)/bin/python -m pip freeze; } > ingestion/requirements-airbyte.tmp \
	  && mv ingestion/requirements-airbyte.tmp ingestion/requirements-airbyte.txt

clean: down ## Arrête les services, supprime les virtualenvs et caches (garde les données de .lakehouse/ et ~/.cache)
	rm -rf $(VENV) $(AIRBYTE_VENV) .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

help: ## Liste les cibles, une ligne chacune, par section
	@echo "Lakehouse UEMOA — cibles make (réglages : conf/lakehouse.env)"
	@awk 'BEGIN {FS = ":.*## "} /^##@ / {printf "\n%s\n", substr($$0, 5)} /^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
