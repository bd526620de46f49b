"""`make repair`: put bronze back in agreement with its landed files after a doubled or partial registration.

What `make reconcile` reports, `make repair` undoes, file by file (a dry run unless `apply`):
- a file entered more than once in the ledger keeps one entry: the earliest whose batch holds exactly
  the file's rows in bronze (else the earliest);
- rows of a file registered in more than one batch keep the batch of the kept entry; the rows of the
  other batches are deleted;
- a file whose rows are missing or incomplete in bronze, or whose rows are in bronze without a ledger
  entry, loses what is left of it in bronze and its entry, and is registered again from the landed
  object (when it is still landed; otherwise its rows are removed and the action says so).

Applying makes at most one delete per bronze table and one rewrite of the ledger (dynamic overwrite,
refused by the catalog if a registration committed meanwhile), then registers what was removed and
reconciles. Each step is safe to repeat: a repair interrupted at any point is finished by the next one.
The staging models of silver keep one row per business key, so the next `make run` rebuilds silver and
gold from the repaired bronze as a clean rebuild would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.core.reporting import Reporter, indented
from lakehouse.core.settings import Settings
from lakehouse.core.streams import selected_streams
from lakehouse_spark.bronze_tables import LEDGER, qualified
from lakehouse_spark.landed_files import list_landed
from lakehouse_spark.reconcile import reconcile
from lakehouse_spark.register import LEDGER_SCHEMA, main_snapshot, register


class RepairFailed(LakehouseError):
    """The repair could not be planned or applied; the message says why and what to do."""


@dataclass
class Action:
    table: str  # catalog.namespace.table of the bronze rows
    object_key: str
    etag: str
    kind: str  # doubled_entries | doubled_rows | reregister
    detail: str
    delete_batches: list[str] = field(default_factory=list)  # bronze rows of these batches are deleted
    delete_all_rows: bool = False  # every bronze row of the file is deleted (it is registered again)

    def line(self) -> str:
        return f"{self.table.split('.', 1)[1]} — {self.object_key} : {self.detail}"


@dataclass
class RepairPlan:
    actions: list[Action]
    ledger_kept: list[tuple]  # the ledger as it must be (rows in LEDGER_SCHEMA order)
    ledger_changed: bool
    ledger_base: int | None  # ledger snapshot the plan was made from
    streams_to_register: list[str]


def _reregister(table: str, identity: tuple[str, str], why: str, landed: set[tuple[str, str]]) -> Action:
    """Remove what is left of a file in bronze (and its entry); register it again when it is still landed."""
    again = identity in landed
    then = " : lignes retirées, fichier enregistré à nouveau" if again else " : lignes retirées (fichier plus déposé)"
    return Action(table, *identity, "reregister", why + then, delete_all_rows=True)


def _order(entry) -> tuple:
    return (entry.registered_at is None, entry.registered_at, str(entry.batch_id))


def plan_repair(spark, settings: Settings, streams: list[str]) -> RepairPlan:
    ledger_table = qualified(settings, LEDGER)
    if not spark.catalog.tableExists(ledger_table):
        raise RepairFailed(f"le registre {ledger_table} n'existe pas : rien à réparer (lancez `make register`)")
    base = main_snapshot(spark, ledger_table)
    version = f" VERSION AS OF {base}" if base is not None else ""
    entries = spark.sql(f"SELECT * FROM {ledger_table}{version}").collect()
    tables = {qualified(settings, stream): stream for stream in streams}
    actions: list[Action] = []
    drop: set[int] = set()  # indexes of ledger entries removed
    to_register: set[str] = set()
    for table, stream in tables.items():
        mine = [(index, entry) for index, entry in enumerate(entries) if entry.target_table == table]
        by_file: dict[tuple[str, str], list] = {}
        for index, entry in mine:
            by_file.setdefault((entry.object_key, entry.etag), []).append((index, entry))
        found: dict[tuple[str, str], dict[str, int]] = {}
        if spark.catalog.tableExists(table):
            for row in spark.sql(
                f"SELECT _source_object_key AS k, _source_etag AS e, _batch_id AS b, count(*) AS n FROM {table} "
                "GROUP BY 1, 2, 3"
            ).collect():
                found.setdefault((row.k, row.e), {})[row.b] = row.n
        landed = {obj.identity for obj in list_landed(settings, stream)}
        for identity in sorted(by_file.keys() | found.keys()):
            key, etag = identity
            files_entries = sorted(by_file.get(identity, []), key=lambda item: _order(item[1]))
            batches = found.get(identity, {})
            if not files_entries:
                why = f"{sum(batches.values())} lignes dans bronze sans entrée au registre"
                actions.append(_reregister(table, identity, why, landed))
                to_register.update([stream] if identity in landed else [])
                continue
            expected = files_entries[0][1].row_count
            whole = [index for index, entry in files_entries if batches.get(entry.batch_id) == entry.row_count]
            kept_index = whole[0] if whole else files_entries[0][0]
            kept = entries[kept_index]
            if len(files_entries) > 1:
                drop.update(index for index, _ in files_entries if index != kept_index)
                actions.append(
                    Action(
                        table,
                        key,
                        etag,
                        "doubled_entries",
                        f"inscrit {len(files_entries)} fois au registre : l'entrée du lot {kept.batch_id} est "
                        f"gardée, {len(files_entries) - 1} retirée(s)",
                    )
                )
            if whole and len(batches) > 1:
                others = sorted(batch for batch in batches if batch != kept.batch_id)
                extra = sum(batches[batch] for batch in others)
                actions.append(
                    Action(
                        table,
                        key,
                        etag,
                        "doubled_rows",
                        f"enregistré dans {len(batches)} lots : {extra} lignes en double retirées "
                        f"(lot(s) {', '.join(others)}), {batches[kept.batch_id]} gardées (lot {kept.batch_id})",
                        delete_batches=others,
                    )
                )
            elif not whole:
                drop.update(index for index, _ in files_entries)
                found_rows = sum(batches.values())
                actions.append(
                    _reregister(table, identity, f"{expected} lignes dans le fichier, {found_rows} dans bronze", landed)
                )
                to_register.update([stream] if identity in landed else [])
    columns = [name.split()[0] for name in LEDGER_SCHEMA.split(", ")]
    kept_rows = [tuple(entry[column] for column in columns) for index, entry in enumerate(entries) if index not in drop]
    return RepairPlan(actions, kept_rows, bool(drop), base, sorted(to_register))


def _quote(text: str) -> str:
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _delete_rows(spark, table: str, actions: list[Action]) -> None:
    """One delete on `table` for every row the actions remove."""
    conditions = []
    for action in actions:
        file = f"_source_object_key = {_quote(action.object_key)} AND _source_etag = {_quote(action.etag)}"
        if action.delete_all_rows:
            conditions.append(f"({file})")
        elif action.delete_batches:
            batches = ", ".join(_quote(batch) for batch in action.delete_batches)
            conditions.append(f"({file} AND _batch_id IN ({batches}))")
    if conditions:
        spark.sql(f"DELETE FROM {table} WHERE " + " OR ".join(conditions))


def repair(
    spark, settings: Settings, streams: list[str] | None = None, apply: bool = False, out: Reporter = print
) -> RepairPlan:
    """Plan the repair and print it; with `apply`, carry it out, register again and reconcile."""
    streams = selected_streams(streams)
    try:
        plan = plan_repair(spark, settings, streams)
    except RepairFailed:
        raise
    except Exception as error:
        raise RepairFailed(
            f"catalogue Iceberg ou S3 injoignable : {first_line(error)} (état : `make status`)"
        ) from None
    if not plan.actions:
        out("rien à réparer : chaque fichier est au registre une fois et ses lignes sont dans bronze une fois")
        return plan
    mode = "" if apply else " (essai à blanc : rien n'est modifié)"
    out(f"{len(plan.actions)} action(s) de réparation{mode} :")
    for action in plan.actions:
        out(f"  - {action.line()}")
    if not apply:
        out("`make repair APPLY=1` les applique, puis enregistre à nouveau les fichiers retirés et réconcilie")
        return plan
    try:
        for table in sorted({action.table for action in plan.actions}):
            _delete_rows(spark, table, [action for action in plan.actions if action.table == table])
            out(f"{table} : lignes retirées")
        if plan.ledger_changed:
            frame = spark.createDataFrame(plan.ledger_kept, LEDGER_SCHEMA)
            writer = frame.writeTo(qualified(settings, LEDGER)).option("isolation-level", "serializable")
            if plan.ledger_base is not None:
                writer = writer.option("validate-from-snapshot-id", str(plan.ledger_base))
            writer.overwritePartitions()
            out(f"{qualified(settings, LEDGER)} : {len(plan.ledger_kept)} entrées gardées")
    except Exception as error:
        raise RepairFailed(
            f"réparation interrompue : {first_line(error)} ; relancez `make repair APPLY=1` (elle reprend où elle "
            "s'est arrêtée)"
        ) from None
    if plan.streams_to_register:
        out(f"nouvel enregistrement des fichiers retirés ({', '.join(plan.streams_to_register)}) :")
        register(spark, settings, plan.streams_to_register, out=indented(out, "  "))
    out("réconciliation :")
    reconcile(spark, settings, streams, out=indented(out, "  "))
    return plan
