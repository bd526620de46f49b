"""`make changes TABLE=ns.t FROM=<snapshot|time>`: the rows a table gained, lost or changed since then.

Built on Iceberg's changelog view (`create_changelog_view`) over the table's main history after `FROM`
(a snapshot id, excluded, or a UTC time) up to its current snapshot (or `TO`). With the table's
identifier columns, a row deleted and inserted again with other values in the same commit is an update,
shown with its pre-image and post-image (the columns that changed); rows rewritten unchanged (a
rebuilt table, a compaction) are not changes. A revised vintage in `silver.dim_uemoa_indicators` thus
appears as the updates of the revised quarters.

Identifier columns: `KEY=col1,col2`, else those the table declares (Iceberg identifier fields), else the
unique key of the dbt model (`KNOWN_KEYS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lakehouse.core.errors import LakehouseError
from lakehouse.core.instants import parse_utc_instant
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import Settings
from lakehouse_spark.maintenance import call_procedure
from lakehouse_spark.table_stats import check_table, qualified

KNOWN_KEYS = {
    "silver.stg_users": ("user_id",),
    "silver.stg_events": ("event_id",),
    "silver.dim_uemoa_indicators": ("pays", "annee", "trimestre"),
    "silver.rejected_uemoa_indicators": ("pays", "annee", "trimestre"),
}
CHANGE_COLUMNS = ("_change_type", "_change_ordinal", "_commit_snapshot_id")
VIEW = "lakehouse_changes"


class ChangeFeedError(LakehouseError):
    """The change feed cannot be read as asked; the message says why and what to do."""


@dataclass
class Change:
    kind: str  # "insert" | "delete" | "update"
    snapshot_id: int
    key: dict
    before: dict | None = None
    after: dict | None = None

    def changed_columns(self) -> dict[str, tuple]:
        if self.before is None or self.after is None:
            return {}
        return {c: (self.before[c], self.after[c]) for c in self.after if self.before.get(c) != self.after[c]}


@dataclass
class ChangeFeed:
    table: str
    key: tuple[str, ...]
    start: str  # what FROM meant, for the heading
    changes: list[Change] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for change in self.changes if change.kind == kind)


def parse_bound(text: str, name: str) -> tuple[str, str]:
    """(Iceberg changelog option, value) for FROM or TO: a snapshot id or a UTC time."""
    text = text.strip()
    if text.isdigit():
        return ("start-snapshot-id" if name == "FROM" else "end-snapshot-id"), text
    try:
        at: datetime = parse_utc_instant(text)
    except ValueError:
        raise ChangeFeedError(
            f"{name}={text!r} : ni un identifiant de snapshot (`make snapshots TABLE=...` les liste) ni un instant "
            "UTC comme '2026-11-23 10:00:00'"
        ) from None
    option = "start-timestamp" if name == "FROM" else "end-timestamp"
    return option, str(int(at.timestamp() * 1000))


def identifier_columns(settings: Settings, identifier: str, key: str | None) -> tuple[str, ...]:
    if key:
        return tuple(column.strip() for column in key.split(",") if column.strip())
    declared = _declared_identifiers(settings, identifier)
    if declared:
        return declared
    if identifier in KNOWN_KEYS:
        return KNOWN_KEYS[identifier]
    raise ChangeFeedError(
        f"{identifier} n'a pas de colonnes d'identifiant connues : donnez-les, par exemple KEY=pays,annee,trimestre"
    )


def _declared_identifiers(settings: Settings, identifier: str) -> tuple[str, ...]:
    from lakehouse.core.clients import iceberg_catalog

    try:
        table = iceberg_catalog(settings).load_table(identifier)
    except Exception:  # the catalog cannot say: the other rules decide
        return ()
    schema = table.schema()
    return tuple(schema.find_column_name(field_id) for field_id in schema.identifier_field_ids)


def read_changes(
    spark, settings: Settings, identifier: str, start: str, end: str | None = None, key: str | None = None
) -> ChangeFeed:
    """The changes of `identifier` after `start` (and up to `end`), grouped into inserts, deletes and updates."""
    check_table(spark, identifier)
    keys = identifier_columns(settings, identifier, key)
    columns = spark.table(qualified(spark, identifier)).columns
    missing = [k for k in keys if k not in columns]
    if missing:
        raise ChangeFeedError(f"{identifier} n'a pas la colonne {missing[0]} (colonnes : {', '.join(columns[:20])})")
    feed = ChangeFeed(identifier, keys, start)
    if start.strip().isdigit() and _nothing_after(spark, identifier, int(start)):
        return feed
    options = [parse_bound(start, "FROM")]
    if end:
        options.append(parse_bound(end, "TO"))
    rendered = ", ".join(f"'{name}', '{value}'" for name, value in options)
    key_array = ", ".join(f"'{k}'" for k in keys)
    try:
        call_procedure(
            spark,
            "create_changelog_view",
            f"table => '{identifier}', options => map({rendered}), changelog_view => '{VIEW}', "
            f"identifier_columns => array({key_array}), compute_updates => true",
        )
        rows = spark.sql(f"SELECT * FROM {VIEW} ORDER BY _change_ordinal, {', '.join(keys)}, _change_type").collect()
    except Exception as error:
        raise ChangeFeedError(_explain(error, identifier, start)) from None
    updates: dict[tuple, Change] = {}  # the two images of an update, whichever comes first
    for row in rows:
        record = row.asDict()
        kind, snapshot = record["_change_type"], record["_commit_snapshot_id"]
        values = {c: v for c, v in record.items() if c not in CHANGE_COLUMNS}
        key_values = {k: values[k] for k in keys}
        if kind in ("UPDATE_BEFORE", "UPDATE_AFTER"):
            change = updates.get((snapshot, *key_values.values()))
            if change is None:
                change = updates[(snapshot, *key_values.values())] = Change("update", snapshot, key_values)
                feed.changes.append(change)
            if kind == "UPDATE_BEFORE":
                change.before = values
            else:
                change.after = values
        elif kind == "INSERT":
            feed.changes.append(Change("insert", snapshot, key_values, None, values))
        elif kind == "DELETE":
            feed.changes.append(Change("delete", snapshot, key_values, values, None))
    return feed


def _nothing_after(spark, identifier: str, snapshot_id: int) -> bool:
    """True when `snapshot_id` is the current snapshot (no change after it); ChangeFeedError when it is not
    in the table's current lineage (unknown, expired, or on another branch)."""
    table = qualified(spark, identifier)
    lineage = [
        row.snapshot_id
        for row in spark.sql(
            f"SELECT snapshot_id FROM {table}.history WHERE is_current_ancestor ORDER BY made_current_at"
        ).collect()
    ]
    if snapshot_id not in lineage:
        raise ChangeFeedError(
            f"{identifier} : le snapshot {snapshot_id} n'existe pas ou plus dans l'historique de main (inconnu, "
            "expiré par la maintenance, ou sur une autre branche) ; "
            f"`make snapshots TABLE={identifier}` liste ceux qui restent"
        )
    return lineage[-1] == snapshot_id


def _explain(error: Exception, identifier: str, start: str) -> str:
    from lakehouse.core.errors import first_line

    text = first_line(error)
    if "Cannot find snapshot" in text or "not found" in text.lower() and start.isdigit():
        return (
            f"{identifier} : le snapshot {start} n'existe pas ou plus (expiré par la maintenance) ; "
            f"`make snapshots TABLE={identifier}` liste ceux qui restent"
        )
    if "delete files" in text.lower():
        return (
            f"{identifier} : la période contient des fichiers de suppression (merge-on-read), que la vue de "
            "changements d'Iceberg ne lit pas ; prenez un FROM postérieur à la dernière compaction"
        )
    return f"{identifier} : vue des changements illisible ({text})"


def _value(value: object) -> str:
    return "null" if value is None else repr(value) if isinstance(value, str) else str(value)


def print_changes(feed: ChangeFeed, out: Reporter = print, limit: int = 50) -> None:
    out(
        f"{feed.table} depuis {feed.start} (identifiant : {', '.join(feed.key)}) : "
        f"{feed.count('insert')} insertion(s), {feed.count('delete')} suppression(s), "
        f"{feed.count('update')} mise(s) à jour"
    )
    for change in feed.changes[:limit]:
        key = ", ".join(f"{k}={_value(v)}" for k, v in change.key.items())
        if change.kind == "update":
            moved = "; ".join(f"{c} : {_value(a)} → {_value(b)}" for c, (a, b) in change.changed_columns().items())
            out(f"  ~ [{change.snapshot_id}] {key} — {moved}")
        else:
            mark = "+" if change.kind == "insert" else "-"
            out(f"  {mark} [{change.snapshot_id}] {key}")
    if len(feed.changes) > limit:
        out(f"  … et {len(feed.changes) - limit} autre(s) (LIMIT={len(feed.changes)} pour tout voir)")
