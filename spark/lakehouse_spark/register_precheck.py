"""Decide without Spark that `make register` has nothing to do, and prove bronze is still whole.

A daily run usually finds no new landed file. Starting Spark to learn that costs ~15 s. This check
answers from the object store and the Iceberg metadata only: an S3 listing per stream, and the
ledger and quarantine tables read through pyiceberg.

There is nothing to do when both hold for every stream:
1. every landed object (key + ETag) is in the ledger or in quarantine;
2. the bronze table's current snapshot holds exactly the rows the ledger says its files had
   (`total-records` of the snapshot summary = the sum of the ledger's `row_count`).

Check 2 is the metadata form of `make reconcile`: a lost ledger commit, a doubled or missing file, or a
rollback changes the total. When any check fails, or cannot be made (first run, catalog error), the
answer is None and the Spark job runs as before: it registers, recovers, and reconciles file by file.
The sum counts each file once: a file entered twice in the ledger is a failure of its own, raised here
with the file, the table and the row counts (`make repair` removes the duplicate), never an "OK".
"""

from __future__ import annotations

from typing import Any

from lakehouse.core.clients import iceberg_catalog
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import Settings
from lakehouse.core.streams import selected_streams
from lakehouse_spark.bronze_tables import LEDGER, REJECTED, qualified
from lakehouse_spark.landed_files import list_landed
from lakehouse_spark.reconcile import ReconciliationFailed, total_records
from lakehouse_spark.register import StreamResult


def _rows(catalog: Any, identifier: str, columns: tuple[str, ...]) -> list[dict] | None:
    from pyiceberg.exceptions import NoSuchTableError

    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        return None
    return table.scan(selected_fields=columns).to_arrow().to_pylist()


def _refuse_duplicates(ledger: list[dict], namespace: str) -> None:
    """A file entered twice in the ledger is a doubled registration: fail, naming each one."""
    entries: dict[tuple[str, str], list[dict]] = {}
    for row in ledger:
        entries.setdefault((row["object_key"], row["etag"]), []).append(row)
    doubled = {identity: rows for identity, rows in entries.items() if len(rows) > 1}
    if not doubled:
        return
    lines = [
        f"{key} (ETag {etag}) : inscrit {len(rows)} fois au registre {namespace}.{LEDGER} pour "
        f"{rows[0]['target_table']} (lots {', '.join(sorted(str(r['batch_id']) for r in rows))}), "
        f"{rows[0]['row_count']} lignes dans le fichier"
        for (key, etag), rows in sorted(doubled.items())
    ]
    raise ReconciliationFailed(
        f"{len(doubled)} fichier(s) enregistré(s) plus d'une fois :\n  "
        + "\n  ".join(lines)
        + "\n`make repair` montre les lignes en double à retirer, `make repair APPLY=1` les retire"
    )


def nothing_to_register(
    settings: Settings, streams: list[str] | None = None, out: Reporter = print
) -> list[StreamResult] | None:
    """The per-stream results of a run with nothing new (and prints them), or None when Spark must run."""
    streams = selected_streams(streams)
    namespace = settings.get("BRONZE_NAMESPACE")
    try:
        catalog = iceberg_catalog(settings)
        ledger = _rows(
            catalog, f"{namespace}.{LEDGER}", ("object_key", "etag", "row_count", "target_table", "batch_id")
        )
        quarantine = _rows(catalog, f"{namespace}.{REJECTED}", ("object_key", "etag"))
        if ledger is None or quarantine is None:
            return None  # first run: the Spark job creates them
        registered = {(row["object_key"], row["etag"]) for row in ledger}
        _refuse_duplicates(ledger, namespace)
        quarantined = {(row["object_key"], row["etag"]) for row in quarantine}
        results, checks = [], []
        for stream in streams:
            landed = list_landed(settings, stream)
            if any(obj.identity not in registered and obj.identity not in quarantined for obj in landed):
                return None  # something new
            table = qualified(settings, stream)
            per_file = {(r["object_key"], r["etag"]): r["row_count"] or 0 for r in ledger if r["target_table"] == table}
            expected = sum(per_file.values())
            found = total_records(catalog, f"{namespace}.{stream}")
            if found is None and expected == 0:
                found = 0  # nothing ever registered for this stream
            if found != expected:
                return None  # let the Spark job reconcile file by file and say what differs
            result = StreamResult(stream)
            result.already_registered = sum(obj.identity in registered for obj in landed)
            result.still_quarantined = sum(obj.identity in quarantined for obj in landed)
            results.append(result)
            checks.append(
                f"{stream}: OK — {len(landed)} fichiers déposés = {result.already_registered} enregistrés + "
                f"{result.still_quarantined} en quarantaine ; {found} lignes dans bronze pour {expected} attendues"
            )
    except ReconciliationFailed:
        raise
    except Exception:  # catalog or S3 trouble: the Spark job reports it in its own words
        return None
    out("aucun nouveau fichier déposé : Spark n'est pas démarré")
    for result in results:
        out(result.line())
    out("réconciliation (métadonnées : registre, quarantaine, total-records du snapshot courant) :")
    for line in checks:
        out(f"  {line}")
    return results
