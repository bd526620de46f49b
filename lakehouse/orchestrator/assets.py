"""`make run`'s steps as Dagster assets, run by the project's own code (`lakehouse.pipeline`):

  api_bceao → landing/<flux> (ingest) → bronze/<flux> (register, freshness checks)
            → silver/* and gold/* (the audited dbt build: one unit, dbt tests and Great Expectations suites as
              asset checks) → maintenance/iceberg, serving/postgres, search/index.

A selection of some streams (re-running one stream and what depends on it from the page) ingests and registers
only those streams; the dbt unit then brings silver and gold up to date with bronze, as `make run` does.
Each asset reports its Iceberg table as it is after the step: snapshot id, rows, data files.
"""

# no `from __future__ import annotations`: Dagster reads the type of `context` at definition time

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    multi_asset,
    multi_asset_check,
)

from lakehouse import pipeline, run_report
from lakehouse.core.clients import iceberg_catalog
from lakehouse.core.errors import first_line
from lakehouse.core.settings import Settings
from lakehouse.core.streams import load_streams
from lakehouse.dbt_runner import build_results
from lakehouse.orchestrator.dbt_assets import check_keys_of_tests, dbt_specs
from lakehouse.orchestrator.lake_run import LakeRun

API = AssetKey("api_bceao")
MAINTENANCE = AssetKey(["maintenance", "iceberg"])
SERVING = AssetKey(["serving", "postgres"])
SEARCH_INDEX = AssetKey(["search", "index"])
FRESHNESS_CHECK = "fraicheur"
SEVERITY = {"alerte": AssetCheckSeverity.WARN, "erreur": AssetCheckSeverity.ERROR}


def landing_key(stream: str) -> AssetKey:
    return AssetKey(["landing", stream])


def bronze_key(stream: str) -> AssetKey:
    return AssetKey(["bronze", stream])


def table_metadata(settings: Settings, identifier: str) -> dict[str, Any]:
    """The Iceberg table as it is now: snapshot id, rows, data files (a view: its kind only)."""
    from pyiceberg.exceptions import NoSuchTableError

    try:
        table = iceberg_catalog(settings).load_table(identifier)
    except NoSuchTableError:
        return {"table": identifier, "type": "vue ou table absente"}
    snapshot = table.current_snapshot()
    summary = snapshot.summary if snapshot else None
    return {
        "table": identifier,
        "snapshot_id": str(snapshot.snapshot_id) if snapshot else "aucun",
        "lignes": int(summary.get("total-records", 0)) if summary else 0,
        "fichiers": int(summary.get("total-data-files", 0)) if summary else 0,
    }


def api_spec() -> AssetSpec:
    return AssetSpec(API, description="API des indicateurs de la BCEAO (ou son remplaçant local)", group_name="source")


def landing_assets(streams: list[str], settings: Settings):
    @multi_asset(
        name="landing",
        specs=[
            AssetSpec(
                landing_key(stream),
                deps=[API],
                group_name="landing",
                description=f"Fichiers Parquet + Snappy du flux {stream}, déposés par le connecteur Airbyte",
                kinds={"airbyte", "parquet"},
            )
            for stream in streams
        ],
        can_subset=True,
    )
    def landing(context: AssetExecutionContext, lake_run: LakeRun) -> Iterator[MaterializeResult]:
        chosen = [key.path[-1] for key in context.selected_asset_keys]
        part = pipeline.ingest_streams(chosen) if len(chosen) < len(streams) else None
        result = lake_run.step(context, "ingest", part)
        for stream in chosen:
            yield MaterializeResult(
                asset_key=landing_key(stream),
                metadata={
                    "enregistrements déposés": result.facts.get("records_landed", {}).get(stream, 0),
                    "fichiers déposés": result.facts.get("files_landed", {}).get(stream, 0),
                },
            )

    return landing


def bronze_assets(streams: list[str], settings: Settings):
    @multi_asset(
        name="bronze",
        specs=[
            AssetSpec(
                bronze_key(stream),
                deps=[landing_key(stream)],
                group_name="bronze",
                description=f"Table Iceberg bronze du flux {stream} (chaque fichier déposé enregistré une fois)",
                kinds={"iceberg", "spark"},
            )
            for stream in streams
        ],
        check_specs=[
            AssetCheckSpec(
                FRESHNESS_CHECK,
                asset=bronze_key(stream),
                description="âge du dernier enregistrement déposé, seuils de conf/streams.toml",
            )
            for stream in streams
        ],
        can_subset=True,
    )
    def bronze(context: AssetExecutionContext, lake_run: LakeRun) -> Iterator[MaterializeResult | AssetCheckResult]:
        chosen = [key.path[-1] for key in context.selected_asset_keys]
        part = pipeline.register_streams(chosen) if len(chosen) < len(streams) else None
        result = lake_run.step(context, "register", part)
        namespace = lake_run.settings.get("BRONZE_NAMESPACE")
        for stream in chosen:
            yield MaterializeResult(
                asset_key=bronze_key(stream),
                metadata={
                    **table_metadata(lake_run.settings, f"{namespace}.{stream}"),
                    "lignes enregistrées": result.facts.get("rows_registered", {}).get(stream, 0),
                    "fichiers en quarantaine": result.facts.get("files_quarantined", {}).get(stream, 0),
                },
            )
        freshness = [f for f in run_report.source_freshness(lake_run.settings) if f.source in chosen]
        lake_run.stale_sources(freshness)
        for item in freshness:
            age = "inconnu" if item.age_seconds is None else f"{item.age_seconds / 86400:.1f} jours"
            yield AssetCheckResult(
                asset_key=bronze_key(item.source),
                check_name=FRESHNESS_CHECK,
                passed=item.status == "ok",
                severity=SEVERITY.get(item.status, AssetCheckSeverity.WARN),
                metadata={
                    "statut": item.status,
                    "dernier enregistrement": item.newest or "aucun",
                    "âge": age,
                    "seuils (jours)": f"alerte {item.warn_after_days}, erreur {item.error_after_days}",
                },
            )

    return bronze


def _quality_outcomes(settings: Settings, since: datetime) -> list[dict]:
    """Great Expectations outcomes recorded since `since` (`quality.validation_results`, partitioned by day)."""
    from lakehouse.fast_read import FastReadError, Lake
    from lakehouse_spark.quality import RESULTS_TABLE

    try:
        rows = (
            Lake(settings)
            .table(
                f"{settings.quality_namespace}.{RESULTS_TABLE}",
                columns=("table_name", "suite", "severity", "success", "expectation", "observed_value", "validated_at"),
                where=f"validated_at >= '{since.astimezone(UTC).isoformat()}'",  # a timestamp with time zone
            )
            .to_pylist()
        )
    except FastReadError:
        return []
    return rows


def gx_suites(settings: Settings) -> dict[str, tuple[str, AssetKey]]:
    """Each Great Expectations suite: (the table it validates, that table's asset key)."""
    from lakehouse_spark.quality import load_suite_specs

    bronze_namespace = settings.get("BRONZE_NAMESPACE")
    suites = {}
    for suite in load_suite_specs(settings):
        namespace, table = suite.table.split(".", 1)
        key = bronze_key(table) if namespace == bronze_namespace else AssetKey([namespace, table])
        suites[suite.name] = (suite.table, key)
    return suites


def gx_check_spec(name: str, table: str, key: AssetKey, **extra) -> AssetCheckSpec:
    return AssetCheckSpec(f"gx_{name}", asset=key, description=f"suite Great Expectations {name} sur {table}", **extra)


def gx_results(
    settings: Settings, suites: dict[str, tuple[str, AssetKey]], since: datetime
) -> Iterator[AssetCheckResult]:
    """A check result for each suite validated since `since` (what the audited build recorded)."""
    outcomes = _quality_outcomes(settings, since)
    for name, (table, key) in suites.items():
        mine = [row for row in outcomes if row["suite"] == name and row["table_name"] == table]
        if not mine:
            continue
        blocking = [row for row in mine if not row["success"] and row["severity"] == "critical"]
        failed = [row for row in mine if not row["success"]]
        yield AssetCheckResult(
            asset_key=key,
            check_name=f"gx_{name}",
            passed=not failed,
            severity=AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN,
            metadata={
                "attentes": len(mine),
                "en échec": len(failed),
                "détail": "; ".join(f"{row['expectation']} : {row['observed_value']}" for row in failed[:5])
                or "toutes satisfaites",
            },
        )


def dbt_unit(settings: Settings, manifest: dict, suites: dict[str, tuple[str, AssetKey]]):
    """The audited dbt build as one multi-asset: every model and snapshot, checks for its dbt data tests and
    for the Great Expectations suites of silver and gold."""
    specs, checks, model_keys = dbt_specs(manifest)
    test_checks = check_keys_of_tests(manifest)

    @multi_asset(
        name="dbt_build",
        specs=specs,
        check_specs=checks + [gx_check_spec(name, table, key) for name, (table, key) in suites.items()],
        # Write-Audit-Publish: whatever part of silver and gold is selected, the unit builds what changed since the
        # last build, checks and publishes it together. Subsetting only spares reporting the unselected assets, and
        # lets a check not run (nothing new upstream of it) go unreported.
        can_subset=True,
    )
    def dbt_build(context: AssetExecutionContext, lake_run: LakeRun) -> Iterator[MaterializeResult | AssetCheckResult]:
        started = time.time()
        lake_run.build_starts()
        failure: Failure | None = None
        try:
            lake_run.step(context, "dbt-build")
        except Failure as error:  # the failed checks are shown before the failure
            failure = error
        nodes = build_results(lake_run.settings, started)
        if failure is None:  # parents before children, as Dagster wants them; then the checks
            for unique_id, key in model_keys.items():
                if key not in context.selected_asset_keys:
                    continue
                node = nodes.get(unique_id)
                yield MaterializeResult(
                    asset_key=key,
                    metadata={
                        **table_metadata(lake_run.settings, ".".join(key.path)),
                        "dbt": node["status"] if node else "inchangé (rien de nouveau en amont)",
                    },
                )
        for unique_id, check_key in test_checks.items():
            node = nodes.get(unique_id)
            if node is None or check_key not in context.selected_asset_check_keys:
                continue
            yield AssetCheckResult(
                asset_key=check_key.asset_key,
                check_name=check_key.name,
                passed=node["status"] == "pass",
                severity=AssetCheckSeverity.WARN if node["status"] == "warn" else AssetCheckSeverity.ERROR,
                metadata={
                    "statut dbt": node["status"],
                    "lignes fautives": node.get("failures") or 0,
                    "message": first_line(node.get("message") or ""),
                },
            )
        for result in gx_results(lake_run.settings, suites, lake_run.build_started_at):
            if result.asset_key in context.selected_asset_keys:
                yield result
        if failure is not None:  # the failed checks are on the page; nothing was published
            raise failure

    return dbt_build


def bronze_quality_checks(suites: dict[str, tuple[str, AssetKey]], built: list[AssetKey]):
    """The bronze suites, validated during the audited build (on main, never blocking): their results, once
    the build is done."""

    @multi_asset_check(
        name="bronze_quality",
        specs=[gx_check_spec(name, table, key, additional_deps=built) for name, (table, key) in suites.items()],
        can_subset=True,
    )
    def bronze_quality(context: AssetCheckExecutionContext, lake_run: LakeRun) -> Iterator[AssetCheckResult]:
        if lake_run.build_started_at is not None:
            yield from gx_results(lake_run.settings, suites, lake_run.build_started_at)

    return bronze_quality


def step_asset(step: str, key: AssetKey, deps: list[AssetKey], kind: str, description: str):
    """One step of `make run` after the build, as one asset whose metadata is the step's summary."""

    @multi_asset(
        name=step.replace("-", "_"),
        specs=[AssetSpec(key, deps=deps, group_name="after_build", kinds={kind}, description=description)],
    )
    def run_step(context: AssetExecutionContext, lake_run: LakeRun) -> MaterializeResult:
        result = lake_run.step(context, step)
        return MaterializeResult(metadata={"résumé": result.summary})

    return run_step


def after_build_assets(gold: list[AssetKey]) -> list:
    """Maintenance, serving copy and search index, in `make run`'s order."""
    return [
        step_asset(
            "maintain",
            MAINTENANCE,
            gold,
            "iceberg",
            "Maintenance Iceberg : compaction, manifestes, expiration, orphelins",
        ),
        step_asset(
            "serve", SERVING, [MAINTENANCE], "postgres", "Copie de service de gold dans PostgreSQL (si configurée)"
        ),
        step_asset(
            "rag-index",
            SEARCH_INDEX,
            [SERVING],
            "chromadb",
            "Index de recherche sémantique (make ask) : passages de gold, doc dbt, documents",
        ),
    ]


def all_assets(settings: Settings, manifest: dict) -> list:
    streams = list(load_streams())
    suites = gx_suites(settings)
    in_bronze = {name: suite for name, suite in suites.items() if suite[1].path[0] == "bronze"}
    dbt_build = dbt_unit(settings, manifest, {k: v for k, v in suites.items() if k not in in_bronze})
    gold = [key for key in dbt_build.keys if key.path[0] == "gold"]
    return [
        api_spec(),
        landing_assets(streams, settings),
        bronze_assets(streams, settings),
        dbt_build,
        bronze_quality_checks(in_bronze, gold),
        *after_build_assets(gold),
    ]
