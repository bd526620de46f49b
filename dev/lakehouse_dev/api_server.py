"""Local stand-in of the BCEAO indicators API (the live API is unreachable from here).

Serves the synthetic dataset of `lakehouse_dev.dataset` over HTTP, with the API's
shape: key in `X-API-Key`, JSON lists of indicators, paginated users and events with
incremental filters. Fault switches (429, 500, 503, slowness, a malformed record) and
loopback-only admin endpoints let tests and demos exercise the connector's failure
handling. Standard library only (`http.server`); binds 127.0.0.1 by default.

    python -m lakehouse_dev.api_server --port 8765 --api-key KEY

Endpoints: `GET /health`; with the key: `GET /api/indicators?country=&year=`,
`GET /api/users?updated_since=&page=&page_size=`, `GET /api/events?occurred_since=&page=&page_size=`;
admin: `POST /admin/state`, `POST /admin/touch-users`, `POST /admin/append-events`, `GET /admin/stats`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from lakehouse_dev import dataset

MAX_PAGE_SIZE = 10_000
_SETTABLE = {
    "vintage": int,
    "users": int,
    "events": int,
    "fail_429": int,
    "fail_500": int,
    "down": bool,
    "slow_ms": int,
    "malformed": bool,
}
_LOOPBACK = ("127.0.0.1", "::1", "::ffff:127.0.0.1")


class ApiError(Exception):
    """An error answered as JSON `{"error": ...}` with an HTTP status."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status, self.body = status, {"error": message, **extra}


@dataclass
class ApiState:
    """What the server serves and how it misbehaves; shared by the handler threads."""

    api_key: str
    seed: int = dataset.DEFAULT_SEED
    vintage: int = 1
    users: int = 1000
    events: int = 10_000
    fail_429: int = 0  # the next N /api requests answer 429
    fail_500: int = 0  # the next N /api requests answer 500
    down: bool = False  # every /api request answers 503
    slow_ms: int = 0  # sleep before answering /api requests
    malformed: bool = False  # CIV 2024Q4 carries pib_nominal "n/a"
    user_updates: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # index -> (updated_at, pays)
    requests_by_path: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    _updates_version: int = field(default=0, init=False, repr=False, compare=False)
    _user_index: tuple = field(default=(None, []), init=False, repr=False, compare=False)

    def public(self) -> dict:
        """The state without the API key, as the admin endpoints answer it."""
        with self.lock:
            values = {name: getattr(self, name) for name in ("seed", *_SETTABLE)}
            values["touched_users"] = len(self.user_updates)
        return values

    def count(self, path: str) -> None:
        with self.lock:
            self.requests_by_path[path] = self.requests_by_path.get(path, 0) + 1

    def take_fault(self) -> int | None:
        """Consume one pending 429/500 fault, if any, and return its status."""
        with self.lock:
            for name, status in (("fail_429", 429), ("fail_500", 500)):
                if getattr(self, name) > 0:
                    setattr(self, name, getattr(self, name) - 1)
                    return status
        return None

    def touch_users(self, count: int, updated_at: str, pays: str | None = None) -> None:
        """Users 0..count-1 were updated at `updated_at`: new time, new email, and new country if given."""
        with self.lock:
            self.user_updates.update(dict.fromkeys(range(count), (updated_at, pays)))
            self._updates_version += 1

    def append_events(self, count: int) -> None:
        """`count` new events, later than every existing one (occurred_at grows with the index)."""
        with self.lock:
            self.events += count

    def user(self, i: int) -> dict:
        record = dataset.user_record(i, self.seed)
        touched = self.user_updates.get(i)
        if touched is not None:
            updated_at, pays = touched
            record.update(updated_at=updated_at, email="new." + record["email"])
            if pays is not None:
                record["pays"] = pays
        return record

    def sorted_users(self) -> list[tuple[float, str, int]]:
        """(updated_at epoch, user_id, index) of every user, sorted; rebuilt when the users change."""
        with self.lock:
            key = (self.seed, self.users, self._updates_version, len(self.user_updates))
            if self._user_index[0] != key:
                entries = []
                for i in range(self.users):
                    record = self.user(i)
                    entries.append((parse_time(record["updated_at"]), record["user_id"], i))
                entries.sort()
                self._user_index = (key, entries)
            return self._user_index[1]


def parse_time(text: str) -> float:
    """Epoch seconds of an ISO-8601 time (`Z`, offset or none = UTC); ApiError 400 if invalid."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"invalid ISO-8601 time: {text!r}", hint="e.g. 2024-03-05T14:07:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _int_param(query: dict, name: str, default: int | None) -> int | None:
    values = query.get(name)
    if not values or values[-1] == "":
        return default
    try:
        return int(values[-1])
    except ValueError:
        raise ApiError(400, f"parameter {name} must be an integer, got {values[-1]!r}") from None


def _str_param(query: dict, name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values and values[-1] != "" else None


def _page(query: dict, default_size: int) -> tuple[int, int]:
    page = _int_param(query, "page", 1)
    size = _int_param(query, "page_size", default_size)
    if page < 1 or size < 1:
        raise ApiError(400, "page and page_size must be >= 1")
    return page, min(size, MAX_PAGE_SIZE)


def _envelope(data: list, page: int, size: int, total: int) -> dict:
    return {"data": data, "page": page, "page_size": size, "has_more": page * size < total, "total": total}


def indicators(state: ApiState, query: dict) -> list[dict]:
    country = _str_param(query, "country")
    year = _int_param(query, "year", None)
    if country is not None:
        country = country.upper()
        if country not in dataset.COUNTRIES:
            raise ApiError(400, f"unknown country: {country}", countries=list(dataset.COUNTRIES))
    rows = [
        row
        for row in dataset.indicator_records(state.vintage, state.seed)
        if (country is None or row["pays"] == country) and (year is None or row["annee"] == year)
    ]
    if state.malformed:
        for row in rows:
            if (row["pays"], row["annee"], row["trimestre"]) == ("CIV", dataset.LAST_YEAR, 4):
                row["pib_nominal_milliards_fcfa"] = "n/a"
    return rows


def users(state: ApiState, query: dict) -> dict:
    page, size = _page(query, 500)
    since = _str_param(query, "updated_since")
    index = state.sorted_users()
    start = 0 if since is None else bisect_left(index, parse_time(since), key=lambda entry: entry[0])
    total = len(index) - start
    first = start + (page - 1) * size
    data = [state.user(i) for _, _, i in index[first : first + size]]
    return _envelope(data, page, size, total)


def events(state: ApiState, query: dict) -> dict:
    page, size = _page(query, 1000)
    since = _str_param(query, "occurred_since")
    count, seed, user_count = state.events, state.seed, max(state.users, 1)
    start = 0
    if since is not None:  # occurred_at increases with the index: binary search, nothing materialized
        start = bisect_left(range(count), parse_time(since), key=lambda i: dataset.event_seconds(i, seed))
    total = count - start
    first = start + (page - 1) * size
    data = [dataset.event_record(i, seed, user_count) for i in range(first, min(first + size, count))]
    return _envelope(data, page, size, total)


class _Handler(BaseHTTPRequestHandler):
    server_version = "BCEAO-API-simulee/1.0"
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        if os.environ.get("LAKEHOUSE_API_LOG") == "1":
            super().log_message(format, *args)

    def _send(self, status: int, body, headers: dict | None = None) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            raise ApiError(400, "request body must be JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "request body must be a JSON object")
        return body

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        state.count(url.path)
        try:
            if url.path == "/health" and method == "GET":
                self._send(200, {"status": "ok"})
            elif url.path.startswith("/admin/"):
                self._admin(method, url.path)
            elif url.path.startswith("/api/"):
                self._api(method, url.path, parse_qs(url.query))
            else:
                raise ApiError(404, f"not found: {url.path}")
        except ApiError as error:
            self._send(error.status, error.body, {"Retry-After": "1"} if error.status == 429 else None)

    def _api(self, method: str, path: str, query: dict) -> None:
        state = self.server.state
        if state.slow_ms:
            time.sleep(state.slow_ms / 1000)
        if state.down:
            raise ApiError(503, "service unavailable")
        if self.headers.get("X-API-Key") != state.api_key:
            raise ApiError(401, "invalid or missing API key", hint="send the key in the X-API-Key header")
        fault = state.take_fault()
        if fault == 429:
            raise ApiError(429, "too many requests", hint="retry after the Retry-After delay (seconds)")
        if fault == 500:
            raise ApiError(500, "internal server error")
        routes = {"/api/indicators": indicators, "/api/users": users, "/api/events": events}
        if path not in routes:
            raise ApiError(404, f"not found: {path}")
        if method != "GET":
            raise ApiError(405, f"{method} not allowed on {path}")
        self._send(200, routes[path](state, query))

    def _admin(self, method: str, path: str) -> None:
        state = self.server.state
        if self.client_address[0] not in _LOOPBACK:
            raise ApiError(403, "admin endpoints answer loopback clients only")
        if (method, path) == ("GET", "/admin/stats"):
            with state.lock:
                counts = dict(state.requests_by_path)
            self._send(200, {"requests_by_path": counts})
        elif (method, path) == ("POST", "/admin/state"):
            self._send(200, self._set_state(self._body()))
        elif (method, path) == ("POST", "/admin/touch-users"):
            body = self._body()
            count = body.get("count")
            if not isinstance(count, int) or not 0 <= count <= state.users:
                raise ApiError(400, f"count must be an integer between 0 and {state.users}")
            updated_at = dataset.iso_utc(int(parse_time(str(body.get("updated_at", "")))))
            pays = body.get("pays")
            if pays is not None and pays not in dataset.COUNTRIES:
                raise ApiError(400, f"pays must be one of {', '.join(dataset.COUNTRIES)}")
            state.touch_users(count, updated_at, pays)
            self._send(200, {"touched": count, "updated_at": updated_at, "pays": pays})
        elif (method, path) == ("POST", "/admin/append-events"):
            count = self._body().get("count")
            if not isinstance(count, int) or count < 0:
                raise ApiError(400, "count must be a non-negative integer")
            state.append_events(count)
            self._send(200, state.public())
        else:
            raise ApiError(404, f"not found: {method} {path}")

    def _set_state(self, body: dict) -> dict:
        state = self.server.state
        unknown = sorted(set(body) - set(_SETTABLE))
        if unknown:
            raise ApiError(400, f"unknown state fields: {', '.join(unknown)}", settable=sorted(_SETTABLE))
        for name, value in body.items():
            kind = _SETTABLE[name]
            if type(value) is not kind or (kind is int and value < 0):
                raise ApiError(400, f"{name} must be a {'boolean' if kind is bool else 'non-negative integer'}")
        if "vintage" in body and not 1 <= body["vintage"] <= len(dataset.VINTAGES):
            raise ApiError(400, f"vintage must be between 1 and {len(dataset.VINTAGES)}")
        with state.lock:
            for name, value in body.items():
                setattr(state, name, value)
        return state.public()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, state: ApiState):
        super().__init__(address, _Handler)
        self.state = state

    def handle_error(self, request, client_address):
        """A client that hung up before the answer (a timeout of the connector under test) is no error of
        this server: not printed as a traceback. Any other error is."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ApiServerHandle:
    """A running server: `.url`, `.state`, `.stop()`; also a context manager."""

    def __init__(self, server: _Server, thread: threading.Thread):
        self.server, self.thread, self.state = server, thread, server.state
        host, port = server.server_address[:2]
        self.url = f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def __enter__(self) -> ApiServerHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_api_server(state: ApiState, host: str = "127.0.0.1", port: int = 0) -> ApiServerHandle:
    """Serve `state` in a daemon thread; port 0 picks a free port."""
    server = _Server((host, port), state)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="bceao-api", daemon=True
    )
    thread.start()
    return ApiServerHandle(server, thread)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lakehouse_dev.api_server", description="API BCEAO simulée (jeu de données synthétique)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default=None, help="clé attendue dans X-API-Key (défaut : $LAKEHOUSE_API_KEY)")
    parser.add_argument("--seed", type=int, default=dataset.DEFAULT_SEED)
    parser.add_argument("--vintage", type=int, default=1, choices=range(1, len(dataset.VINTAGES) + 1))
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args(argv)
    api_key = args.api_key or os.environ.get("LAKEHOUSE_API_KEY")
    if not api_key:
        print("erreur : clé d'API manquante ; passez --api-key CLÉ ou définissez LAKEHOUSE_API_KEY.", file=sys.stderr)
        return 2
    state = ApiState(api_key=api_key, seed=args.seed, vintage=args.vintage, users=args.users, events=args.events)
    try:
        handle = start_api_server(state, args.host, args.port)
    except OSError as error:
        print(
            f"erreur : impossible d'écouter sur {args.host}:{args.port} ({error.strerror or error}).", file=sys.stderr
        )
        return 1
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"API BCEAO simulée sur {handle.url} (clé requise dans X-API-Key)", flush=True)
    while not stop.wait(0.5):
        pass
    handle.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
