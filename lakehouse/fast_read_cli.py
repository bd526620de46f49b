"""`make sql`: one SELECT sent to the warm fast read server, printed as a table with what was read.

The server (`lakehouse.fast_read_server`) is started on first use and kept warm, so that a query
costs a round trip on 127.0.0.1 instead of a second of Python imports. This module stays light on
purpose: no pyiceberg, pyarrow or DuckDB here.
"""

from __future__ import annotations

import sys

from lakehouse.core.numbers import number
from lakehouse.core.settings import Settings
from lakehouse.fast_read import FastReadError


def _cell(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):  # French notation (lakehouse.core.numbers); integers (years, ids) stay bare
        return number(value, 2) if abs(value) >= 1000 else f"{value:g}".replace(".", ",")
    if isinstance(value, bool):
        return "vrai" if value else "faux"
    return str(value)


def format_table(columns: list[str], rows: list[list], max_rows: int) -> list[str]:
    """Aligned text lines: numbers on the right, text on the left, at most `max_rows` rows."""
    shown = rows[:max_rows]
    cells = [[_cell(value) for value in row] for row in shown]
    numeric = [
        all(isinstance(row[i], int | float) and not isinstance(row[i], bool) for row in shown if row[i] is not None)
        for i in range(len(columns))
    ]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]

    def line(values: list[str]) -> str:
        return " │ ".join(
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return [line(columns), "─┼─".join("─" * width for width in widths), *(line(row) for row in cells)]


def _scans_line(scans: list[dict]) -> str:
    return " ; ".join(
        f"{scan['table']}@{scan['snapshot_id']} ("
        + ("toutes les colonnes" if scan["colonnes"] == ["*"] else f"{len(scan['colonnes'])} colonne(s)")
        + f", filtre {scan['filtre']}, {scan['lignes_lues']} lignes lues{', en cache' if scan.get('cache') else ''})"
        for scan in scans
    )


def _wait_port_free(settings: Settings, seconds: float = 10.0) -> None:
    """The stopped server's socket may outlive it by a moment; the new one waits for the port."""
    import time

    from lakehouse.services.process import port_is_free

    deadline = time.monotonic() + seconds
    while not port_is_free(settings.get("SQL_HOST"), settings.get_int("SQL_PORT")) and time.monotonic() < deadline:
        time.sleep(0.1)


def ask_server(settings: Settings, payload: dict, path: str = "/sql") -> dict:
    """One request to the warm server (`/sql` or `/ask`), started or replaced when needed; its JSON answer."""
    from lakehouse import stack
    from lakehouse.services.sql_server import call, settings_fingerprint

    started: list[str] = []
    stack.up(settings, ["sql"], progress=started.append)
    if any("démarré en" in line for line in started):
        print(  # on stderr: stdout is the answer (`make ask FORMAT=json` is read by programs)
            "(serveur de lecture rapide démarré ; il reste chaud pour les requêtes suivantes, `make down` l'arrête)",
            file=sys.stderr,
        )
    payload = {**payload, "fingerprint": settings_fingerprint(settings)}
    status, body = call(settings, path, payload)
    if status in (404, 409):  # a server left by other settings or an older version: replaced by one for ours
        stack.down(settings, ["sql"], progress=lambda _: None)
        _wait_port_free(settings)
        stack.up(settings, ["sql"], progress=lambda _: None)
        status, body = call(settings, path, payload)
    if status != 200:
        raise FastReadError(body.get("error") or f"serveur de lecture rapide : HTTP {status}")
    return body


def run_sql(settings: Settings, sql: str, snapshots: list[str], as_of: str | None, max_rows: int) -> int:
    from lakehouse.services.sql_server import settings_fingerprint

    if not sql.strip():
        from lakehouse.fast_read import Lake

        lake = Lake(settings)
        for namespace in lake.namespaces():
            tables = lake.tables(namespace)
            print(f"{namespace} ({len(tables)}) : " + ", ".join(t.split(".", 1)[1] for t in tables))
        example = "select pays, dette_pib_pct from gold.gold_mart_uemoa_convergence where annee = 2024"
        print(f'\nexemple : make sql Q="{example}"')
        return 0
    payload = {"sql": sql, "snapshot_args": snapshots, "as_of": as_of, "fingerprint": settings_fingerprint(settings)}
    body = ask_server(settings, payload)
    for line in format_table(body["columns"], body["rows"], max_rows):
        print(line)
    hidden = body["total_rows"] - min(max_rows, len(body["rows"]))
    if hidden > 0:
        print(f"… {hidden} ligne(s) de plus non affichée(s)")
    print(f"\n{body['total_rows']} ligne(s) en {number(body['elapsed_ms'])} ms — lu : {_scans_line(body['scans'])}")
    return 0
