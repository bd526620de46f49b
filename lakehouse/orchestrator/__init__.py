"""The Dagster orchestrator of the lakehouse (`make orchestrator`): `make run`'s steps as assets, a daily
schedule, retries of transient failures, freshness checks and alerts. Dagster loads `code_location`."""

from lakehouse.core.settings import Settings, SettingsError

JOB_NAME = "make_run"  # every asset: `make run`'s steps
SCHEDULE_NAME = "run_quotidien"


def check_schedule(settings: Settings) -> None:
    """A cron Dagster cannot read is said in one line, before anything starts."""
    from dagster._utils.schedules import is_valid_cron_string

    cron = settings.get("SCHEDULE_CRON")
    if not is_valid_cron_string(cron):
        raise SettingsError(
            f"LAKEHOUSE_SCHEDULE_CRON={cron!r} n'est pas une expression cron (5 champs : minute heure jour mois "
            'jour-de-semaine, ex. "0 2 * * *" pour 02:00 UTC chaque jour) ; corrigez conf/lakehouse.env'
        )
