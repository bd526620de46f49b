"""`make changes TABLE=ns.t FROM=<snapshot|time>`: the rows a table gained, lost or changed since then.

The table as it was at `FROM` is compared with the table as it is now (or at `TO`): both read by time
travel, rows matched on the table's identifier columns. A key only after is an insert, only before a
delete, on both sides with other values an update, shown with its pre-image and post-image (the
columns that changed). Rows rewritten unchanged (a rebuilt table, a compaction, a `CREATE OR REPLACE`
by dbt) are not changes: an identical rebuild shows 0. A revised vintage in
`silver.dim_uemoa_indicators` thus appears as the updates of the revised quarters.

`FROM` (and `TO`) is any snapshot that `make snapshots` lists for the table — a state main went through,
even when a rebuild replaced the table since (its lineage then starts again) — or a UTC time (the state
main had then). A snapshot id the table does not know is explained: expired, only on another branch
(an audit branch), or a snapshot of another table.

Identifier columns: `KEY=col1,col2`, else those the table declares (Iceberg identifier fields), else the
unique key of the dbt model (`KNOWN_KEYS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lakehouse.core.errors import LakehouseError
from lakehouse.core.instants import parse_utc_instant
from lakehouse.core.numbers import number
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import Settings
from lakehouse_spark.table_stats import check_table, qualified

KNOWN_KEYS = {
    "silver.stg_users": ("user_id",),
    "silver.stg_events": ("event_id",),
    "silver.dim_uemoa_indicators": ("pays", "annee", "trimestre"),
    "silver.rejected_uemoa_indicators": ("pays", "annee", "trimestre"),
}


class ChangeFeedError(LakehouseError):
    """The change feed cannot be read as asked; the message says why and what to do."""


@dataclass
class Change:
    kind: str  # "insert" | "delete" | "update"
    snapshot_id: int  # the state compared with FROM (TO, or the current snapshot)
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
    first: int | None = None  # the snapshot FROM resolved to (None: the table had no data yet)
    last: int | None = None  # the snapshot compared with it

    def count(self, kind: str) -> int:
        return sum(1 for change in self.changes if change.kind == kind)


def parse_bound(text: str, name: str) -> tuple[str, str]:
    """("snapshot", id) or ("time", epoch milliseconds) for FROM or TO; ChangeFeedError when unreadable."""
    text = text.strip()
    if text.isdigit():
        return "snapshot", text
    try:
        at: datetime = parse_utc_instant(text)
    except ValueError:
        raise ChangeFeedError(
            f"{name}={text!r} : ni un identifiant de snapshot (`make snapshots TABLE=...` les liste) ni un instant "
            "UTC comme '2026-11-23 10:00:00'"
        ) from None
    return "time", str(int(at.timestamp() * 1000))


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


def resolve_bound(spark, settings: Settings, identifier: str, text: str, name: str) -> int | None:
    """The snapshot FROM or TO names: an id main went through, or main's state at a UTC time (None when
    the table had no data yet then). ChangeFeedError, saying why, for an id it cannot be."""
    kind, value = parse_bound(text, name)
    table = qualified(spark, identifier)
    main_states = spark.sql(
        f"SELECT snapshot_id, unix_millis(made_current_at) AS at FROM {table}.history ORDER BY made_current_at"
    ).collect()
    if kind == "time":
        before = [row.snapshot_id for row in main_states if row.at <= int(value)]
        return before[-1] if before else None
    snapshot_id = int(value)
    if snapshot_id in {row.snapshot_id for row in main_states}:
        return snapshot_id
    hint = f"`make snapshots TABLE={identifier}` liste ceux que main a eus"
    known = {row.snapshot_id for row in spark.sql(f"SELECT snapshot_id FROM {table}.snapshots").collect()}
    if snapshot_id in known:
        raise ChangeFeedError(
            f"{name}={snapshot_id} : ce snapshot de {identifier} n'a jamais été l'état de main (il est sur une "
            f"autre branche, par exemple une branche d'audit non publiée) ; {hint}"
        )
    owner = _table_holding(settings, snapshot_id)
    if owner:
        raise ChangeFeedError(
            f"{name}={snapshot_id} est un snapshot de {owner}, pas de {identifier} : "
            f"`make changes TABLE={owner} FROM={snapshot_id}`, ou {hint}"
        )
    raise ChangeFeedError(
        f"{name}={snapshot_id} : {identifier} n'a pas ou plus ce snapshot (inconnu, ou expiré par la "
        f"maintenance : expire-snapshots) ; {hint}"
    )


def _table_holding(settings: Settings, snapshot_id: int) -> str | None:
    """The table of the catalog that has this snapshot, if any (to explain a FROM given to the wrong table)."""
    from lakehouse.core.clients import iceberg_catalog

    try:
        catalog = iceberg_catalog(settings)
        for (namespace,) in catalog.list_namespaces():
            for identifier in catalog.list_tables(namespace):
                if catalog.load_table(identifier).snapshot_by_id(snapshot_id) is not None:
                    return ".".join(identifier)
    except Exception:  # the catalog cannot say: the plain message stands
        return None
    return None


def read_changes(
    spark, settings: Settings, identifier: str, start: str, end: str | None = None, key: str | None = None
) -> ChangeFeed:
    """The changes of `identifier` between `start` and `end` (default: now), as inserts, deletes and updates."""
    check_table(spark, identifier)
    keys = identifier_columns(settings, identifier, key)
    table = qualified(spark, identifier)
    columns = spark.table(table).columns
    missing = [k for k in keys if k not in columns]
    if missing:
        raise ChangeFeedError(f"{identifier} n'a pas la colonne {missing[0]} (colonnes : {', '.join(columns[:20])})")
    first = resolve_bound(spark, settings, identifier, start, "FROM")
    last = resolve_bound(spark, settings, identifier, end, "TO") if end else _current(spark, table)
    feed = ChangeFeed(identifier, keys, start, first=first, last=last)
    if first == last or last is None:
        return feed
    after = spark.read.option("snapshot-id", str(last)).table(table)
    if first is None:
        before = after.limit(0)
    else:
        before = spark.read.option("snapshot-id", str(first)).table(table)
    common = [c for c in after.columns if c in before.columns]
    try:
        gone = [row.asDict() for row in before.select(common).exceptAll(after.select(common)).collect()]
        came = [row.asDict() for row in after.select(common).exceptAll(before.select(common)).collect()]
    except Exception as error:
        from lakehouse.core.errors import first_line

        raise ChangeFeedError(f"{identifier} : comparaison des deux états impossible ({first_line(error)})") from None
    old = {tuple(row[k] for k in keys): row for row in gone}
    for row in sorted(came, key=lambda r: _order(r, keys)):
        key_values = {k: row[k] for k in keys}
        previous = old.pop(tuple(key_values.values()), None)
        kind = "insert" if previous is None else "update"
        feed.changes.append(Change(kind, last, key_values, previous, row))
    for row in sorted(old.values(), key=lambda r: _order(r, keys)):
        feed.changes.append(Change("delete", last, {k: row[k] for k in keys}, row, None))
    return feed


def _order(row: dict, keys: tuple[str, ...]) -> tuple:
    return tuple((row[k] is None, str(row[k]) if not isinstance(row[k], int | float) else row[k]) for k in keys)


def _current(spark, table: str) -> int | None:
    rows = spark.sql(f"SELECT snapshot_id FROM {table}.refs WHERE name = 'main'").collect()
    return rows[0].snapshot_id if rows else None


def _value(value: object) -> str:
    """A cell as `make changes` shows it: text quoted, decimals in French with all their digits, integers
    (years, quarters, ids) bare."""
    from decimal import Decimal

    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Decimal):
        return number(value, max(0, -value.as_tuple().exponent))
    if isinstance(value, float):
        written = repr(value)
        return str(value) if "e" in written else number(value, len(written.partition(".")[2]))
    return str(value)


def print_changes(feed: ChangeFeed, out: Reporter = print, limit: int = 50) -> None:
    since = f"snapshot {feed.first}" if feed.first is not None else "aucune donnée"
    out(
        f"{feed.table} depuis {feed.start} ({since} → snapshot {feed.last}, identifiant : {', '.join(feed.key)}) : "
        f"{feed.count('insert')} insertion(s), {feed.count('delete')} suppression(s), "
        f"{feed.count('update')} mise(s) à jour"
    )
    for change in feed.changes[:limit]:
        key = ", ".join(f"{k}={_value(v)}" for k, v in change.key.items())
        if change.kind == "update":
            moved = "; ".join(f"{c} : {_value(a)} → {_value(b)}" for c, (a, b) in change.changed_columns().items())
            out(f"  ~ {key} — {moved}")
        else:
            mark = "+" if change.kind == "insert" else "-"
            out(f"  {mark} {key}")
    if len(feed.changes) > limit:
        out(f"  … et {len(feed.changes) - limit} autre(s) (LIMIT={len(feed.changes)} pour tout voir)")
