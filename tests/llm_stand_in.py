"""A stand-in for an OpenAI-compatible chat server (`/v1/chat/completions`), for the generator's tests.

A language model cannot run on the test machines; this real HTTP server on 127.0.0.1 records each
request and answers with what the test sets: a text, a function of the request's JSON body, or raw bytes
(an unreadable reply), after an optional delay (a slow server).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        self.server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        time.sleep(self.server.delay)
        reply = self.server.reply(body) if callable(self.server.reply) else self.server.reply
        if isinstance(reply, bytes):
            data = reply
        else:
            data = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class StandIn(ThreadingHTTPServer):
    RequestHandlerClass = _Handler
    reply: str | bytes | Callable[[dict], str] = ""
    delay = 0.0

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


@contextmanager
def running_stand_in() -> Iterator[StandIn]:
    server = StandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
