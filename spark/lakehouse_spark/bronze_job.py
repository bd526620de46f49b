"""Entry points of the bronze jobs (`make register`, `make reconcile`, the pipeline step): session + job + report."""

from __future__ import annotations

from lakehouse.core.reporting import Reporter, indented
from lakehouse.core.settings import Settings
from lakehouse_spark.reconcile import Reconciliation, reconcile
from lakehouse_spark.register import StreamResult, register
from lakehouse_spark.register_precheck import nothing_to_register
from lakehouse_spark.session import get_spark


def run_register(settings: Settings, streams: list[str] | None = None, out: Reporter = print) -> list[StreamResult]:
    """Register the new landed files, then reconcile (the run fails if anything is off).

    When nothing new has landed and bronze matches its ledger, this is decided from the object store and
    the Iceberg metadata, without starting Spark (`register_precheck`).
    """
    if not settings.full_run:
        unchanged = nothing_to_register(settings, streams, out)
        if unchanged is not None:
            return unchanged
    spark = get_spark("lakehouse-register", settings)
    results = register(spark, settings, streams, out)
    out("réconciliation :")
    reconcile(spark, settings, streams, out=indented(out, "  "), batch_id=results[0].batch_id if results else None)
    return results


def run_reconcile(settings: Settings, streams: list[str] | None = None, out: Reporter = print) -> list[Reconciliation]:
    return reconcile(get_spark("lakehouse-reconcile", settings), settings, streams, out)
