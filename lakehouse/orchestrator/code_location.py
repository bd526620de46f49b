"""What Dagster loads (`make orchestrator`, `lakehouse.services.dagster`): the definitions, built when imported
from the lake's settings and the dbt manifest that `make orchestrator` writes."""

from lakehouse.orchestrator.definitions import build_definitions

defs = build_definitions()
