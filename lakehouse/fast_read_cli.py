"""`make sql`: one SELECT through the fast read path, printed as a table, with what was read and how long it took."""

from __future__ import annotations

import time

from lakehouse.core.settings import Settings
from lakehouse.fast_read import FastReadError, Lake, query_shape


def parse_snapshots(values: list[str], sql: str) -> dict[str, int]:
    """`ID` (the query reads one table) or `table=ID`, repeatable; refused in one line otherwise."""
    snapshots: dict[str, int] = {}
    for value in values:
        table, _, raw = value.rpartition("=")
        if not table:
            tables = query_shape(sql).tables
            if len(tables) != 1:
                raise FastReadError(f"SNAPSHOT={value} : la requête lit {len(tables)} tables, écrivez table=ID")
            table = tables[0].identifier if tables[0].schema else tables[0].name
        if not raw.strip().isdigit():
            raise FastReadError(f"snapshot {raw!r} : un identifiant numérique est attendu (voir `make snapshots`)")
        snapshots[table.strip().lower()] = int(raw)
    return snapshots


def print_tables(lake: Lake) -> None:
    for namespace in lake.namespaces():
        tables = lake.tables(namespace)
        print(f"{namespace} ({len(tables)}) : " + ", ".join(t.split(".", 1)[1] for t in tables))
    print(
        '\nexemple : make sql Q="select pays, dette_pib_pct from gold.gold_mart_uemoa_convergence where annee = 2024"'
    )


def run_sql(settings: Settings, sql: str, snapshots: list[str], as_of: str | None, max_rows: int) -> int:
    import duckdb

    lake = Lake(settings)
    if not sql.strip():
        print_tables(lake)
        return 0
    started = time.perf_counter()
    result = lake.sql_arrow(sql, snapshots=parse_snapshots(snapshots, sql), as_of=as_of)
    elapsed_ms = (time.perf_counter() - started) * 1000
    connection = duckdb.connect()
    connection.register("resultat", result)
    connection.sql("select * from resultat").show(max_rows=max_rows, max_width=200)
    connection.close()
    read = " ; ".join(
        f"{scan['table']}@{scan['snapshot_id']} ({len(scan['colonnes']) if scan['colonnes'] != ['*'] else 'toutes les'}"
        f" colonnes, filtre {scan['filtre']}, {scan['lignes_lues']} lignes lues)"
        for scan in lake.last_scans
    )
    print(f"{result.num_rows} ligne(s) en {elapsed_ms:.0f} ms — lu : {read}")
    return 0
