"""A table's snapshot history (`make snapshots`) and rollback (`make rollback`), printing what changes.

The history is the states `main` went through: the snapshots of the table's snapshot log, each with the
time it became `main`'s state (`made_current_at`), which is what `TIMESTAMP AS OF` reads. A snapshot
written on a branch (a registration or an audit, published later in one catalog transaction) becomes
`main`'s state when it is published, not when it was written; snapshots that never were `main`'s state
(the empty start of a registration branch, abandoned branches) are not listed.

Rollback moves the table's current state back to an ancestor snapshot (`rollback_to_snapshot`) or to
the state it had at a time (`rollback_to_timestamp`). The newer snapshots stay in the history until
they expire, so the printed `set_current_snapshot` call undoes the rollback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from lakehouse.core.errors import LakehouseError
from lakehouse.core.instants import parse_utc_instant
from lakehouse.core.numbers import number
from lakehouse.core.reporting import Reporter
from lakehouse_spark.maintenance import call_procedure
from lakehouse_spark.table_stats import check_table, qualified


class RollbackRefused(LakehouseError):
    """The requested snapshot or time cannot be rolled back to; the message says why and what to do."""


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: int
    parent_id: int | None
    made_current_at: datetime  # when it became main's state (TIMESTAMP AS OF reads this)
    operation: str
    records: int | None
    data_files: int | None
    is_current_ancestor: bool
    is_current: bool

    def line(self) -> str:
        marker = "*" if self.is_current else ("·" if self.is_current_ancestor else " ")
        records = "-" if self.records is None else number(self.records)
        files = "-" if self.data_files is None else number(self.data_files)
        return (
            f"{marker} {self.snapshot_id:<20} {self.made_current_at:%Y-%m-%d %H:%M:%S}  {self.operation:<10}"
            f" {records:>12} lignes {files:>7} fichiers"
        )


def history(spark, identifier: str) -> list[Snapshot]:
    """The states main went through, oldest first, with their totals and place in the current lineage."""
    table = qualified(spark, check_table(spark, identifier))
    rows = spark.sql(f"""
        select s.snapshot_id, s.parent_id, h.made_current_ms, s.operation,
               cast(s.summary['total-records'] as bigint) as records,
               cast(s.summary['total-data-files'] as bigint) as data_files,
               h.is_current_ancestor,
               s.snapshot_id = (select max(snapshot_id) from {table}.refs where name = 'main') as is_current
        from {table}.snapshots as s
        join (
            select snapshot_id, min(unix_millis(made_current_at)) as made_current_ms,
                   max(is_current_ancestor) as is_current_ancestor
            from {table}.history
            group by snapshot_id
        ) as h on s.snapshot_id = h.snapshot_id
        order by h.made_current_ms, s.snapshot_id
    """).collect()
    return [
        Snapshot(
            r.snapshot_id,
            r.parent_id,
            datetime.fromtimestamp(r.made_current_ms / 1000, UTC),
            r.operation,
            r.records,
            r.data_files,
            r.is_current_ancestor,
            bool(r.is_current),
        )
        for r in rows
    ]


def print_history(spark, identifier: str, out: Reporter = print) -> list[Snapshot]:
    snapshots = history(spark, identifier)
    out(
        f"{identifier} — {len(snapshots)} états de main (* courant, · ancêtre du courant), "
        "heure UTC à laquelle chacun est devenu l'état de main :"
    )
    for snapshot in snapshots:
        out("  " + snapshot.line())
    out(
        "Lire un état passé : SELECT ... FROM <table> VERSION AS OF <snapshot_id>  |  "
        "TIMESTAMP AS OF '<aaaa-mm-jj hh:mm:ss>'"
    )
    return snapshots


def _target(snapshots: list[Snapshot], snapshot_id: int | None, at: datetime | None) -> Snapshot:
    lineage = [s for s in snapshots if s.is_current_ancestor]
    if snapshot_id is not None:
        match = next((s for s in snapshots if s.snapshot_id == snapshot_id), None)
        if match is None:
            raise RollbackRefused(
                f"snapshot {snapshot_id} inconnu (ou expiré) : `make snapshots TABLE=...` liste ceux qui existent"
            )
        if not match.is_current_ancestor:
            raise RollbackRefused(
                f"snapshot {snapshot_id} n'est pas un ancêtre de l'état courant : "
                "rollback_to_snapshot ne peut pas y aller ; pour le rendre courant quand même : "
                f"CALL <catalogue>.system.set_current_snapshot('<table>', {snapshot_id})"
            )
        return match
    before = [s for s in lineage if s.made_current_at <= at]
    if not before:
        raise RollbackRefused(f"aucun snapshot de l'état courant n'existait au {at:%Y-%m-%d %H:%M:%S} UTC")
    return before[-1]


def check_rollback_target(snapshot_id: int | None, at: datetime | None) -> None:
    if (snapshot_id is None) == (at is None):
        raise RollbackRefused(
            "donnez SNAPSHOT=<id> ou TIMESTAMP='aaaa-mm-jj hh:mm:ss' (UTC), l'un des deux ; "
            "`make snapshots TABLE=...` liste les snapshots"
        )


def parse_snapshot_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise RollbackRefused(
            f"SNAPSHOT={text!r} n'est pas un identifiant de snapshot (un entier : `make snapshots TABLE=...` les liste)"
        ) from None


def rollback(
    spark, identifier: str, snapshot_id: int | None = None, at: datetime | None = None, out: Reporter = print
) -> Snapshot:
    """Roll `identifier` back to `snapshot_id` or to its state at `at` (UTC); print before/after and the undo."""
    check_rollback_target(snapshot_id, at)
    snapshots = history(spark, identifier)
    current = next(s for s in snapshots if s.is_current)
    target = _target(snapshots, snapshot_id, at)
    out(f"{identifier} : retour de l'état courant au snapshot {target.snapshot_id}")
    out(f"  courant : {current.line().strip()}")
    out(f"  cible   : {target.line().strip()}")
    if target.snapshot_id == current.snapshot_id:
        out("  déjà l'état courant : rien à faire")
        return target
    if current.records is not None and target.records is not None:
        out(
            f"  lignes : {number(current.records)} → {number(target.records)} "
            f"({'+' if target.records >= current.records else ''}{number(target.records - current.records)})"
        )
    call_procedure(spark, "rollback_to_snapshot", f"table => '{identifier}', snapshot_id => {target.snapshot_id}")
    catalog = spark.conf.get("spark.sql.defaultCatalog")
    out(f"  fait. Pour annuler : CALL {catalog}.system.set_current_snapshot('{identifier}', {current.snapshot_id})")
    return target


def parse_timestamp(text: str) -> datetime:
    """'2026-11-23 10:00:00' or ISO 8601; without a zone, UTC."""
    try:
        return parse_utc_instant(text)
    except ValueError:
        raise RollbackRefused(
            f"TIMESTAMP={text!r} illisible : écrivez par exemple TIMESTAMP='2026-11-23 10:00:00' (UTC)"
        ) from None
