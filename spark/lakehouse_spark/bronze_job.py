"""Entry points of the bronze jobs (`make register`, `make reconcile`, the pipeline step): session + job + report."""

from __future__ import annotations

from collections.abc import Callable

from lakehouse.settings import Settings
from lakehouse_spark.reconcile import Reconciliation, reconcile
from lakehouse_spark.register import StreamResult, register
from lakehouse_spark.session import get_spark

Out = Callable[[str], None]


def run_register(settings: Settings, streams: list[str] | None = None, out: Out = print) -> list[StreamResult]:
    """Register the new landed files, then reconcile (the run fails if anything is off)."""
    spark = get_spark("lakehouse-register", settings)
    results = register(spark, settings, streams, out)
    out("réconciliation :")
    reconcile(spark, settings, streams, out=lambda line: out(f"  {line}"))
    return results


def run_reconcile(settings: Settings, streams: list[str] | None = None, out: Out = print) -> list[Reconciliation]:
    return reconcile(get_spark("lakehouse-reconcile", settings), settings, streams, out)
