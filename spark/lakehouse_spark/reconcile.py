"""`make reconcile`: prove that every landed row is in bronze exactly once, or in quarantine.

Per stream, two checks:
1. every object landed under `bronze/<stream>/` is either in the ledger or in quarantine
   (same key and ETag) — nothing forgotten;
2. for every ledger entry, bronze holds exactly the number of rows the file had
   (rows counted per source object and ETag) — nothing lost, nothing doubled.
Any difference is printed, object by object, and makes the command fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import Settings
from lakehouse.core.streams import selected_streams
from lakehouse_spark.bronze_tables import LEDGER, REJECTED, qualified
from lakehouse_spark.landed_files import list_landed


@dataclass
class Reconciliation:
    stream: str
    landed: int = 0
    registered: int = 0
    quarantined: int = 0
    rows_expected: int = 0
    rows_found: int = 0
    differences: list[str] = field(default_factory=list)

    def line(self) -> str:
        status = "OK" if not self.differences else f"{len(self.differences)} ÉCART(S)"
        return (
            f"{self.stream}: {status} — {self.landed} fichiers déposés = {self.registered} enregistrés + "
            f"{self.quarantined} en quarantaine ; "
            f"{self.rows_found} lignes dans bronze pour {self.rows_expected} attendues"
        )


class ReconciliationFailed(LakehouseError):
    """Landed files, ledger, quarantine and bronze rows disagree; the differences were printed."""


def reconcile(
    spark, settings: Settings, streams: list[str] | None = None, out: Reporter = print
) -> list[Reconciliation]:
    streams = selected_streams(streams)
    ledger = qualified(settings, LEDGER)
    try:
        if not spark.catalog.tableExists(ledger):
            raise ReconciliationFailed(f"le registre {ledger} n'existe pas encore : lancez d'abord `make register`")
        ledger_rows = spark.sql(f"SELECT object_key, etag, row_count, target_table FROM {ledger}").collect()
        rejected_rows = spark.sql(f"SELECT object_key, etag, stream FROM {qualified(settings, REJECTED)}").collect()
    except ReconciliationFailed:
        raise
    except Exception as error:  # catalog or S3 down: nothing can be compared
        raise ReconciliationFailed(
            f"catalogue Iceberg ou S3 injoignable : {first_line(error)} (état : `make status`)"
        ) from error
    results = []
    for stream in streams:
        table = qualified(settings, stream)
        result = Reconciliation(stream)
        expected = {(r.object_key, r.etag): r.row_count for r in ledger_rows if r.target_table == table}
        quarantined = {(r.object_key, r.etag) for r in rejected_rows if r.stream == stream}
        landed = {obj.identity for obj in list_landed(settings, stream)}
        result.landed, result.registered, result.quarantined = (
            len(landed),
            len(landed & expected.keys()),
            len(landed & quarantined),
        )
        for key, etag in sorted(landed - expected.keys() - quarantined):
            result.differences.append(
                f"{key} (ETag {etag}) : déposé mais ni enregistré ni en quarantaine (lancez `make register`)"
            )
        found = {}
        if expected:
            found = {
                (r._source_object_key, r._source_etag): r.n
                for r in spark.sql(
                    f"SELECT _source_object_key, _source_etag, count(*) AS n FROM {table} GROUP BY 1, 2"
                ).collect()
            }
        for identity in sorted(expected.keys() | found.keys()):
            want, have = expected.get(identity), found.get(identity, 0)
            if want is None:
                result.differences.append(f"{identity[0]} : {have} lignes dans bronze mais absent du registre")
            elif want != have:
                result.differences.append(f"{identity[0]} : {want} lignes dans le fichier, {have} dans bronze")
        result.rows_expected, result.rows_found = sum(expected.values()), sum(found.values())
        out(result.line())
        for difference in result.differences:
            out(f"  {difference}")
        results.append(result)
    failed = [r.stream for r in results if r.differences]
    if failed:
        raise ReconciliationFailed(f"réconciliation en échec pour {', '.join(failed)} (détail ci-dessus)")
    return results
