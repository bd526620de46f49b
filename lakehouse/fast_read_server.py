"""The warm process behind `make sql`: a `Lake` kept loaded, answering SELECTs over HTTP on 127.0.0.1.

Python, pyiceberg, pyarrow and DuckDB take about a second to import; a new process per query would
pay it every time. `make sql` starts this server on first use (`lakehouse.services.sql_server`), then
each query costs a small HTTP round trip plus the query. A token (`LAKEHOUSE_SQL_TOKEN`) is required;
the server stops by itself after `LAKEHOUSE_SQL_IDLE_MINUTES` without a query, and `make down`
stops it. It only reads: the fast path refuses anything but SELECT.

    POST /sql  {"sql": "...", "snapshots": {"gold.t": 123}, "as_of": "2026-11-30 08:00"}
      → 200 {"columns": [...], "rows": [[...]], "scans": [...], "elapsed_ms": 12.3}
      → 400 {"error": "une ligne en français"}
    POST /ask  {"question": "..."}   (`make ask`: the embedding model and the collection stay loaded)
      → 200 {"question", "answer", "figures": [...], "passages": [...], "elapsed_ms"}
    GET /status → 200 {"status": "ok", "queries": N}
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.core.settings import Settings, load_settings

MAX_ROWS = 10_000  # a query answering more is cut, and says so (the fast path is for reading, not exporting)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value == value.to_integral_value() or abs(value) < 10**15 else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return str(value)


def answer(lake: Any, request: dict) -> dict:
    """Run one request on the lake; the JSON payload of the response (raises LakehouseError)."""
    from lakehouse.fast_read import parse_snapshots

    started = time.perf_counter()
    sql = request.get("sql", "")
    snapshots = parse_snapshots(request.get("snapshot_args") or [], sql)
    table = lake.sql_arrow(sql, snapshots=snapshots, as_of=request.get("as_of"))
    rows = table.slice(0, MAX_ROWS).to_pylist()
    return {
        "columns": table.column_names,
        "rows": [[_plain(row[name]) for name in table.column_names] for row in rows],
        "total_rows": table.num_rows,
        "scans": lake.last_scans,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }


class _Handler(BaseHTTPRequestHandler):
    server: SqlServer

    def log_message(self, format: str, *args: Any) -> None:  # one line per query in the log, not per hit
        pass

    def _send(self, status: int, payload: dict) -> None:
        body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == f"token {self.server.token}":
            return True
        self._send(403, {"error": "jeton absent ou faux (LAKEHOUSE_SQL_TOKEN)"})
        return False

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if not self._authorized():
            return
        if self.path != "/status":
            self._send(404, {"error": f"chemin inconnu {self.path}"})
            return
        self._send(200, {"status": "ok", "queries": self.server.queries})

    def do_POST(self) -> None:  # noqa: N802
        if not self._authorized():
            return
        if self.path not in ("/sql", "/ask"):
            self._send(404, {"error": f"chemin inconnu {self.path}"})
            return
        self.server.touch()
        try:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            if request.get("fingerprint") != self.server.fingerprint:
                self._send(409, {"error": "ce serveur sert d'autres réglages (catalogue, stockage ou clé)"})
                return
            if self.path == "/ask":
                payload = self.server.ask(request.get("question", ""))
            else:
                payload = answer(self.server.lake, request)
        except LakehouseError as error:
            self._send(400, {"error": str(error)})
            return
        except Exception as error:  # never a traceback to the client: one line, the server keeps running
            self._send(500, {"error": f"{type(error).__name__} : {first_line(error)}"})
            return
        self.server.queries += 1
        what = (
            f"{payload['total_rows']} ligne(s)  {request.get('sql', '')}" if "sql" in request else request["question"]
        )
        print(f"{payload['elapsed_ms']:>8.1f} ms  {what[:200]}", flush=True)
        self._send(200, payload)


class SqlServer(HTTPServer):
    """One thread answers, one request at a time (a `Lake` is not shared between threads)."""

    def __init__(self, settings: Settings) -> None:
        from lakehouse.fast_read import Lake

        super().__init__((settings.get("SQL_HOST"), settings.get_int("SQL_PORT")), _Handler)
        from lakehouse.services.sql_server import settings_fingerprint

        self.token = settings.get("SQL_TOKEN")
        self.fingerprint = settings_fingerprint(settings)
        self.lake = Lake(settings)
        self.queries = 0
        self.idle_seconds = settings.get_int("SQL_IDLE_MINUTES") * 60
        self.last_use = time.monotonic()
        self.settings = settings
        self._searcher = None

    def ask(self, question: str) -> dict:
        """`make ask`: the answer to one question (the search index is opened on the first one)."""
        from lakehouse.rag.searcher import Searcher

        started = time.perf_counter()
        if self._searcher is None:
            self._searcher = Searcher(self.settings)
        payload = self._searcher.answer(question, self.lake)
        payload["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return payload

    def touch(self) -> None:
        self.last_use = time.monotonic()

    def watch_idleness(self) -> None:
        while time.monotonic() - self.last_use < self.idle_seconds:
            time.sleep(min(5.0, self.idle_seconds))
        print(f"inactif depuis {self.idle_seconds // 60} min : arrêt", flush=True)
        self.shutdown()


def main() -> None:
    settings = load_settings()
    server = SqlServer(settings)
    import duckdb  # noqa: F401 — imported now, so that the first query does not pay for it
    import pyiceberg.io.pyarrow  # noqa: F401

    try:
        server.lake.namespaces()  # the catalog's token and configuration, fetched once
    except LakehouseError as error:  # said again to each query, which may come once the catalog is up
        print(f"catalogue pas encore joignable : {error}", flush=True)
    print(f"serveur de lecture rapide sur http://{server.server_address[0]}:{server.server_address[1]}", flush=True)
    threading.Thread(target=server.watch_idleness, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
