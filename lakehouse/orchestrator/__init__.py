"""The Dagster orchestrator of the lakehouse (`make orchestrator`): `make run`'s steps as assets, a daily
schedule, retries of transient failures, freshness checks and alerts. Dagster loads `definitions`."""

JOB_NAME = "make_run"  # every asset: `make run`'s steps
SCHEDULE_NAME = "run_quotidien"
