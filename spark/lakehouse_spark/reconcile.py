"""`make reconcile`: prove that every landed row is in bronze exactly once, or in quarantine.

Per stream, three checks:
1. every object landed under `bronze/<stream>/` is either in the ledger or in quarantine
   (same key and ETag) — nothing forgotten;
2. every object is in the ledger once — a file registered twice is named with its batches;
3. for every ledger entry, bronze holds exactly the number of rows the file had, from one registration
   batch (rows counted per source object and ETag, batches by `_batch_id`) — nothing lost, nothing doubled.
Any difference is printed, object by object, and makes the command fail; `make repair` removes what was
doubled and registers again what is missing.

After a registration (`make register`, `make run`), check 2 costs what the new files cost, not what the
whole table holds: the rows are counted file by file for the files of that registration's batch only
(Iceberg skips the data files of other batches by their `_batch_id` statistics), and the table as a
whole is checked by its total, the current snapshot's `total-records` against the sum of the ledger's
`row_count`. A lost, doubled or deleted row elsewhere changes the total; then, or when the total cannot
be read, every file is counted, which names the ones that differ. `make reconcile` always counts every
file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lakehouse.core.clients import iceberg_catalog
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


def total_records(catalog: Any, identifier: str) -> int | None:
    """Rows of the table's current snapshot from its summary (pyiceberg, no scan); None when the table is
    missing or holds delete files (`total-records` does not subtract deleted rows)."""
    from pyiceberg.exceptions import NoSuchTableError

    try:
        snapshot = catalog.load_table(identifier).current_snapshot()
    except NoSuchTableError:
        return None
    if snapshot is None:
        return 0
    summary = snapshot.summary.additional_properties if snapshot.summary else {}
    if any(int(summary.get(key, "0")) for key in ("total-position-deletes", "total-equality-deletes")):
        return None
    total = summary.get("total-records")
    return int(total) if total is not None else None


def _total_or_none(catalog: Any, identifier: str) -> int | None:
    """`total_records`, or None when the metadata cannot be read: every file is then counted by Spark,
    which reports a catalog or S3 failure in its own words."""
    try:
        return total_records(catalog, identifier)
    except Exception:
        return None


@dataclass(frozen=True)
class FileRows:
    rows: int
    batches: int  # registration batches the rows come from (more than one: the file was registered again)


def rows_per_file(spark, table: str, batch_id: str | None = None) -> dict[tuple[str, str], FileRows]:
    """Rows and registration batches of each (object key, ETag) in a bronze table (of one batch only)."""
    where = f"WHERE _batch_id = '{batch_id}'" if batch_id else ""
    return {
        (r._source_object_key, r._source_etag): FileRows(r.n, r.batches)
        for r in spark.sql(
            f"SELECT _source_object_key, _source_etag, count(*) AS n, count(DISTINCT _batch_id) AS batches "
            f"FROM {table} {where} GROUP BY 1, 2"
        ).collect()
    }


def _row_differences(expected: dict[tuple[str, str], int], found: dict[tuple[str, str], FileRows]) -> list[str]:
    differences = []
    for identity in sorted(expected.keys() | found.keys()):
        want, have = expected.get(identity), found.get(identity, FileRows(0, 0))
        if want is None:
            differences.append(f"{identity[0]} : {have.rows} lignes dans bronze mais absent du registre")
        elif have.batches > 1:
            differences.append(
                f"{identity[0]} : enregistré {have.batches} fois ({want} lignes dans le fichier, {have.rows} dans "
                "bronze)"
            )
        elif want != have.rows:
            differences.append(f"{identity[0]} : {want} lignes dans le fichier, {have.rows} dans bronze")
    return differences


def ledger_duplicates(rows) -> dict[tuple[str, str], list]:
    """Ledger rows sharing one (object key, ETag): a file the ledger says was registered more than once."""
    seen: dict[tuple[str, str], list] = {}
    for row in rows:
        seen.setdefault((row.object_key, row.etag), []).append(row)
    return {identity: entries for identity, entries in seen.items() if len(entries) > 1}


def duplicate_line(table: str, identity: tuple[str, str], entries: list) -> str:
    batches = ", ".join(sorted({str(entry.batch_id) for entry in entries}))
    return (
        f"{identity[0]} (ETag {identity[1]}) : inscrit {len(entries)} fois au registre de {table} "
        f"(lots {batches}) pour {entries[0].row_count} lignes dans le fichier"
    )


def reconcile(
    spark, settings: Settings, streams: list[str] | None = None, out: Reporter = print, batch_id: str | None = None
) -> list[Reconciliation]:
    """Check every stream (see the module's docstring); `batch_id`: the registration that just ran, whose
    files alone are counted row by row while the totals agree."""
    streams = selected_streams(streams)
    ledger = qualified(settings, LEDGER)
    try:
        if not spark.catalog.tableExists(ledger):
            raise ReconciliationFailed(f"le registre {ledger} n'existe pas encore : lancez d'abord `make register`")
        ledger_rows = spark.sql(f"SELECT object_key, etag, row_count, target_table, batch_id FROM {ledger}").collect()
        rejected_rows = spark.sql(f"SELECT object_key, etag, stream FROM {qualified(settings, REJECTED)}").collect()
        catalog = iceberg_catalog(settings) if batch_id else None
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
        mine = [r for r in ledger_rows if r.target_table == table]
        expected = {(r.object_key, r.etag): r.row_count for r in mine}
        for identity, entries in sorted(ledger_duplicates(mine).items()):
            result.differences.append(duplicate_line(table, identity, entries))
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
        result.rows_expected = sum(expected.values())
        total = _total_or_none(catalog, f"{settings.get('BRONZE_NAMESPACE')}.{stream}") if catalog else None
        if total is not None and total == result.rows_expected and not result.differences:
            batch = {(r.object_key, r.etag): r.row_count for r in mine if r.batch_id == batch_id}
            found = rows_per_file(spark, table, batch_id) if batch else {}
            result.differences += _row_differences(batch, found)
            result.rows_found = total
        else:
            found = rows_per_file(spark, table) if expected else {}
            result.differences += _row_differences(expected, found)
            result.rows_found = sum(f.rows for f in found.values())
        out(result.line())
        for difference in result.differences:
            out(f"  {difference}")
        results.append(result)
    failed = [r.stream for r in results if r.differences]
    if failed:
        raise ReconciliationFailed(
            f"réconciliation en échec pour {', '.join(failed)} (détail ci-dessus) ; `make repair` montre comment "
            "remettre bronze d'accord avec ses fichiers, `make repair APPLY=1` le fait"
        )
    return results
