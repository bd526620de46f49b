"""The orchestrator's definitions (`code_location` builds them for Dagster): the assets of `make run`, the job
that runs them all in one process (one write lock, one run report), the daily schedule (`LAKEHOUSE_SCHEDULE_CRON`,
UTC, on by default)."""

from __future__ import annotations

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
    in_process_executor,
)

from lakehouse.core.settings import Settings, load_settings
from lakehouse.orchestrator import JOB_NAME, SCHEDULE_NAME, check_schedule
from lakehouse.orchestrator.assets import all_assets
from lakehouse.orchestrator.dbt_assets import load_manifest
from lakehouse.orchestrator.lake_run import LakeRun


def build_definitions(settings: Settings | None = None) -> Definitions:
    settings = settings or load_settings()
    check_schedule(settings)
    assets = all_assets(settings, load_manifest(settings))
    job = define_asset_job(
        JOB_NAME,
        selection=AssetSelection.all(),
        description="Toutes les étapes de `make run`, dans un seul processus, sous le verrou d'écriture du lac",
    )
    schedule = ScheduleDefinition(
        name=SCHEDULE_NAME,
        job=job,
        cron_schedule=settings.get("SCHEDULE_CRON"),
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        description="Le run quotidien (LAKEHOUSE_SCHEDULE_CRON, heure UTC)",
    )
    return Definitions(
        assets=assets,
        jobs=[job],
        schedules=[schedule],
        resources={"lake_run": LakeRun()},
        executor=in_process_executor,  # every run, a re-run of one part too: one process, one lock, one report
    )
