"""`make serve`: a serving copy of gold (and the silver dimension) in PostgreSQL, for dashboards.

Each table of LAKEHOUSE_SERVE_TABLES is copied into the PostgreSQL schema of its namespace
(`gold.gold_mart_uemoa_convergence` → `gold.gold_mart_uemoa_convergence`), read through pyiceberg at its
current snapshot (no JVM). Incremental by snapshot: `lakehouse_serving.copies` records the snapshot each
table was copied from, and a table whose snapshot has not changed is not copied again (nor one whose new
snapshots only rewrote files, as compaction does: same rows).

A copy is all-or-nothing, in one transaction (`COPY ... FROM STDIN`, CSV written by Arrow; the record is
updated in the same transaction): readers see the old rows or the new ones, never a part. A table whose
columns have not changed keeps its PostgreSQL table (its rows are replaced, so views and grants on it
stay); otherwise a fresh table replaces it. Each table has an index on (pays, annee, trimestre), the
columns it has, in that order; with the TimescaleDB extension available, a table that has
`date_trimestre` becomes a hypertable on it. A failing table keeps its served copy as it was, the others
are copied, and the run fails naming it.
"""

from __future__ import annotations

import fnmatch
import io
import time
from dataclasses import dataclass

from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.core.faults import fault_point
from lakehouse.core.numbers import number, seconds
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import Settings, SettingsError
from lakehouse.core.snapshot_lineage import same_rows_as

META_SCHEMA = "lakehouse_serving"
INDEX_COLUMNS = ("pays", "annee", "trimestre")
HYPERTABLE_TIME_COLUMN = "date_trimestre"
STAGING_SUFFIX = "__copie"


class ServingError(LakehouseError):
    """Some tables could not be copied; the message names them and why."""


@dataclass
class TableCopy:
    table: str  # namespace.table, in the lake and in PostgreSQL
    snapshot_id: int | None
    status: str  # "copied" | "unchanged" | "failed"
    rows: int = 0
    seconds: float = 0.0
    hypertable: bool = False
    error: str = ""

    def line(self) -> str:
        if self.status == "unchanged":
            return f"{self.table} : inchangée (les lignes du snapshot {self.snapshot_id} sont déjà servies)"
        if self.status == "failed":
            return f"{self.table} : ÉCHEC, copie servie inchangée — {self.error}"
        kind = " (hypertable sur date_trimestre)" if self.hypertable else ""
        copied = f"{number(self.rows)} lignes copiées en {seconds(self.seconds)}{kind}"
        return f"{self.table} : {copied} (snapshot {self.snapshot_id})"


def serve_mode(settings: Settings) -> str:
    return settings.get_choice("SERVE", ("auto", "true", "false"))


def serving_configured(settings: Settings) -> bool:
    """A PostgreSQL server to copy into: the local one `make up` starts, or an external one with a password."""
    from lakehouse.services.postgres import PostgresServer, local_mode

    if PostgresServer().enabled(settings):
        return True
    return local_mode(settings) == "false" and bool(settings.get("POSTGRES_PASSWORD"))


def served_tables(settings: Settings) -> list[tuple[str, str]]:
    """(namespace, table) of the lake matching LAKEHOUSE_SERVE_TABLES, in the order of the patterns."""
    from lakehouse.core.clients import iceberg_catalog

    catalog = iceberg_catalog(settings)
    patterns = [item.strip() for item in settings.get("SERVE_TABLES").split(",") if item.strip()]
    found: list[tuple[str, str]] = []
    listed: dict[str, list[str]] = {}
    for pattern in patterns:
        namespace, _, name = pattern.partition(".")
        if not name:
            raise SettingsError(
                f"LAKEHOUSE_SERVE_TABLES : {pattern!r} n'est pas de la forme namespace.table ou namespace.*"
            )
        if namespace not in listed:
            listed[namespace] = sorted(identifier[-1] for identifier in catalog.list_tables(namespace))
        for table in listed[namespace]:
            if fnmatch.fnmatchcase(table, name) and (namespace, table) not in found:
                found.append((namespace, table))
    return found


def postgres_type(arrow_type) -> str:
    """The PostgreSQL column type of an Arrow type (what pyiceberg reads)."""
    import pyarrow as pa

    checks = [
        (pa.types.is_string, "text"),
        (pa.types.is_large_string, "text"),
        (pa.types.is_boolean, "boolean"),
        (pa.types.is_int8, "smallint"),
        (pa.types.is_int16, "smallint"),
        (pa.types.is_int32, "integer"),
        (pa.types.is_int64, "bigint"),
        (pa.types.is_float32, "real"),
        (pa.types.is_float64, "double precision"),
        (pa.types.is_date32, "date"),
    ]
    for check, name in checks:
        if check(arrow_type):
            return name
    if pa.types.is_decimal(arrow_type):
        return f"numeric({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_timestamp(arrow_type):  # PostgreSQL's own spelling (format_type), compared with the served table
        return "timestamp with time zone" if arrow_type.tz else "timestamp without time zone"
    raise ServingError(f"type {arrow_type} sans équivalent PostgreSQL prévu")


def table_statements(namespace: str, table: str, schema, timescale: bool) -> tuple[list, bool]:
    """(statements creating the fresh copy `<table>__copie` with its index and hypertable, hypertable or not)."""
    from psycopg import sql

    staging = sql.Identifier(namespace, table + STAGING_SUFFIX)
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(field.name), sql.SQL(postgres_type(field.type))) for field in schema
    )
    statements = [
        sql.SQL("drop table if exists {}").format(staging),
        sql.SQL("create table {} ({})").format(staging, columns),
    ]
    hypertable = timescale and HYPERTABLE_TIME_COLUMN in schema.names
    if hypertable:
        statements.append(
            sql.SQL("select create_hypertable({}, by_range({}))").format(
                sql.Literal(f"{namespace}.{table}{STAGING_SUFFIX}"), sql.Literal(HYPERTABLE_TIME_COLUMN)
            )
        )
    indexed = [column for column in INDEX_COLUMNS if column in schema.names]
    if indexed:
        statements.append(
            sql.SQL("create index {} on {} ({})").format(
                sql.Identifier(_index_name(table + STAGING_SUFFIX, indexed)),
                staging,
                sql.SQL(", ").join(sql.Identifier(column) for column in indexed),
            )
        )
    return statements, hypertable


def _index_name(table: str, columns: list[str]) -> str:
    return f"{table}_{'_'.join(columns)}_idx"[:63]


def _swap_statements(namespace: str, table: str, columns: list[str]) -> list:
    """Replace the served table by the fresh copy, its index renamed after it."""
    from psycopg import sql

    statements = [
        sql.SQL("drop table if exists {}").format(sql.Identifier(namespace, table)),
        sql.SQL("alter table {} rename to {}").format(
            sql.Identifier(namespace, table + STAGING_SUFFIX), sql.Identifier(table)
        ),
    ]
    if columns:
        statements.append(
            sql.SQL("alter index {} rename to {}").format(
                sql.Identifier(namespace, _index_name(table + STAGING_SUFFIX, columns)),
                sql.Identifier(_index_name(table, columns)),
            )
        )
    return statements


def _csv(arrow_table) -> bytes:
    import pyarrow.csv as pa_csv

    sink = io.BytesIO()
    pa_csv.write_csv(arrow_table, sink, pa_csv.WriteOptions(include_header=False))
    return sink.getvalue()


def _prepare(connection, out: Reporter) -> bool:
    """The bookkeeping schema; True when TimescaleDB can be used (its extension is then created). An extension
    installed but not usable (library not preloaded, no right to create it) gives plain tables and one line
    saying why, not a failure."""
    import psycopg

    connection.execute(f"create schema if not exists {META_SCHEMA}")  # autocommit: each statement on its own
    connection.execute(
        f"create table if not exists {META_SCHEMA}.copies (table_name text primary key, snapshot_id bigint not null, "
        "row_count bigint not null, copied_at timestamptz not null default now(), hypertable boolean not null)"
    )
    available = connection.execute("select 1 from pg_available_extensions where name = 'timescaledb'").fetchone()
    if not available:
        return False
    preloaded = connection.execute("select current_setting('shared_preload_libraries')").fetchone()[0]
    if "timescaledb" not in preloaded:  # creating the extension would end the session (FATAL)
        out(
            "TimescaleDB installé mais non préchargé : tables ordinaires, sans hypertables (ajoutez timescaledb "
            "à shared_preload_libraries du serveur et redémarrez-le ; le serveur local de make up le fait)"
        )
        return False
    try:
        connection.execute("create extension if not exists timescaledb")
    except psycopg.Error as error:
        out(f"TimescaleDB inutilisable ({first_line(error)}) : tables ordinaires, sans hypertables")
        return False
    return True


def copied_snapshots(connection) -> dict[str, int]:
    rows = connection.execute(
        f"select c.table_name, c.snapshot_id from {META_SCHEMA}.copies c "
        "where to_regclass(quote_ident(split_part(c.table_name, '.', 1)) || '.' "
        "|| quote_ident(split_part(c.table_name, '.', 2))) is not null"
    ).fetchall()
    return {name: snapshot for name, snapshot in rows}


def served_columns(connection, namespace: str, table: str) -> list[tuple[str, str]]:
    """(name, type) of the served table's columns, in order; [] when it does not exist."""
    return connection.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
        "where a.attrelid = to_regclass(format('%%I.%%I', %s::text, %s::text)) and a.attnum > 0 "
        "and not a.attisdropped order by a.attnum",
        (namespace, table),
    ).fetchall()


def _is_hypertable(connection, namespace: str, table: str, timescale: bool) -> bool:
    if not timescale:
        return False
    found = connection.execute(
        "select 1 from timescaledb_information.hypertables where hypertable_schema = %s and hypertable_name = %s",
        (namespace, table),
    ).fetchone()
    return found is not None


def _copy_rows(connection, namespace: str, table: str, arrow) -> None:
    from psycopg import sql

    copy_into = sql.SQL("copy {} ({}) from stdin with (format csv)").format(
        sql.Identifier(namespace, table), sql.SQL(", ").join(sql.Identifier(column) for column in arrow.schema.names)
    )
    with connection.cursor().copy(copy_into) as copy:
        copy.write(_csv(arrow))


def _copy_table(connection, catalog, namespace: str, table: str, snapshot_id: int, timescale: bool) -> TableCopy:
    """One table in one transaction. Same columns as the served table: its rows are replaced (views, grants
    and indexes on it stay); other columns: a fresh table with its index replaces it."""
    import psycopg
    from psycopg import sql

    started = time.monotonic()
    name = f"{namespace}.{table}"
    arrow = catalog.load_table((namespace, table)).scan(snapshot_id=snapshot_id).to_arrow()
    expected = [(field.name, postgres_type(field.type)) for field in arrow.schema]
    try:
        with connection.transaction():
            connection.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(namespace)))
            if served_columns(connection, namespace, table) == expected:
                connection.execute(sql.SQL("truncate table {}").format(sql.Identifier(namespace, table)))
                _copy_rows(connection, namespace, table, arrow)
                hypertable = _is_hypertable(connection, namespace, table, timescale)
            else:
                statements, hypertable = table_statements(namespace, table, arrow.schema, timescale)
                for statement in statements:
                    connection.execute(statement)
                _copy_rows(connection, namespace, table + STAGING_SUFFIX, arrow)
                indexed = [column for column in INDEX_COLUMNS if column in arrow.schema.names]
                for statement in _swap_statements(namespace, table, indexed):
                    connection.execute(statement)
            connection.execute(
                sql.SQL("comment on table {} is {}").format(
                    sql.Identifier(namespace, table),
                    sql.Literal(f"copie de service de lakehouse.{name}, snapshot Iceberg {snapshot_id}"),
                )
            )
            connection.execute(
                f"insert into {META_SCHEMA}.copies (table_name, snapshot_id, row_count, copied_at, hypertable) "
                "values (%s, %s, %s, now(), %s) on conflict (table_name) do update set "
                "snapshot_id = excluded.snapshot_id, row_count = excluded.row_count, copied_at = excluded.copied_at, "
                "hypertable = excluded.hypertable",
                (name, snapshot_id, arrow.num_rows, hypertable),
            )
    except psycopg.errors.DependentObjectsStillExist as error:
        raise ServingError(
            f"ses colonnes ont changé et des objets de PostgreSQL dépendent de la copie servie "
            f"({error.diag.message_detail or error.diag.message_primary}) : supprimez-les, relancez make serve, "
            "puis recréez-les"
        ) from None
    return TableCopy(name, snapshot_id, "copied", arrow.num_rows, time.monotonic() - started, hypertable)


def serve(settings: Settings, full: bool = False, out: Reporter = print) -> list[TableCopy]:
    """Copy the served tables whose snapshot changed (all of them with `full`); one line per table."""
    from lakehouse.core.clients import iceberg_catalog
    from lakehouse.services.postgres import connect

    catalog = iceberg_catalog(settings)
    tables = served_tables(settings)
    if not tables:
        raise ServingError(f"aucune table du lac ne correspond à LAKEHOUSE_SERVE_TABLES={settings.get('SERVE_TABLES')}")
    results: list[TableCopy] = []
    # autocommit: each `connection.transaction()` below is a transaction of its own (BEGIN ... COMMIT)
    with connect(settings, autocommit=True) as connection:
        timescale = _prepare(connection, out)
        done = {} if full else copied_snapshots(connection)
        for namespace, table in tables:
            name = f"{namespace}.{table}"
            iceberg_table = catalog.load_table((namespace, table))
            snapshot = iceberg_table.current_snapshot()
            snapshot_id = snapshot.snapshot_id if snapshot else None
            if snapshot_id is None:
                result = TableCopy(name, None, "failed", error="table sans snapshot (jamais écrite) : rien à servir")
            elif name in done and same_rows_as(iceberg_table, snapshot_id, {done[name]}) is not None:
                # the copied snapshot, or a compaction of it (same rows): the served copy is up to date
                if done[name] != snapshot_id:
                    connection.execute(
                        f"update {META_SCHEMA}.copies set snapshot_id = %s where table_name = %s", (snapshot_id, name)
                    )
                result = TableCopy(name, snapshot_id, "unchanged")
            else:
                try:
                    result = _copy_table(connection, catalog, namespace, table, snapshot_id, timescale)
                except Exception as error:  # this table only: its transaction is rolled back, the others go on
                    result = TableCopy(name, snapshot_id, "failed", error=first_line(error))
            out(result.line())
            results.append(result)
            fault_point("serve-table-done")
    failed = [result for result in results if result.status == "failed"]
    if failed:
        raise ServingError(
            f"{len(failed)} table(s) non copiée(s) dans PostgreSQL : "
            + " ; ".join(f"{result.table} ({result.error})" for result in failed)
        )
    return results


def summary(results: list[TableCopy]) -> str:
    copied = [result for result in results if result.status == "copied"]
    unchanged = len(results) - len(copied)
    rows = sum(result.rows for result in copied)
    return f"{len(copied)} table(s) copiée(s) ({number(rows)} lignes), {unchanged} inchangée(s)"
