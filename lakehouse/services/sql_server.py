"""The fast read server behind `make sql` (`lakehouse.fast_read_server`): started on first use, not by `make up`."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from lakehouse.core.clients import ServiceUnavailable
from lakehouse.core.settings import PROJECT_ROOT, Settings
from lakehouse.services.base import Launch, Port, Service

TIMEOUT = 300  # a query on a large bronze table may take a while


def call(settings: Settings, path: str, payload: dict | None = None, timeout: float = TIMEOUT) -> tuple[int, dict]:
    """(HTTP status, JSON body) of one request to the server; ServiceUnavailable when it does not answer."""
    request = urllib.request.Request(
        f"http://{settings.get('SQL_HOST')}:{settings.get_int('SQL_PORT')}{path}",
        data=None if payload is None else json.dumps(payload).encode("utf-8"),
        headers={"Authorization": f"token {settings.get('SQL_TOKEN')}", "Content-Type": "application/json"},
        method="GET" if payload is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read())
        except ValueError:
            return error.code, {"error": f"HTTP {error.code}"}
    except (urllib.error.URLError, OSError) as error:
        raise ServiceUnavailable(f"serveur de lecture rapide injoignable : {error}") from None


def settings_fingerprint(settings: Settings) -> str:
    """What a running server must share with its client to answer for it: the same catalog, store and key,
    and for `make ask` the same search index, embedding model and generator."""
    parts = (
        settings.catalog_uri,
        settings.warehouse,
        settings.catalog_name,
        settings.s3_endpoint,
        settings.s3_access_key,
        str(settings.state_dir),
        settings.get("CHROMA_URL"),
        settings.get("RAG_COLLECTION"),
        settings.get("RAG_EMBEDDING_MODEL"),
        settings.get("LLM_URL"),
        settings.get("LLM_MODEL"),
        settings.get("LLM_API_KEY"),
        settings.get("LLM_TIMEOUT_SECONDS"),
    )
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:16]


class SqlServer(Service):
    name = "sql"
    label = "Serveur de lecture rapide (make sql)"
    on_demand = True

    def marker(self, settings: Settings) -> str:
        return f"lakehouse.fast_read_server --port={settings.get_int('SQL_PORT')}"

    def ports(self, settings: Settings) -> list[Port]:
        return [Port(settings.get("SQL_HOST"), settings.get_int("SQL_PORT"), "HTTP", "LAKEHOUSE_SQL_PORT")]

    def launch(self, settings: Settings) -> Launch:
        work: Path = settings.state_dir / "sql"
        work.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "lakehouse.fast_read_server", f"--port={settings.get_int('SQL_PORT')}"]
        env = {**os.environ, **settings.as_environment(), "PYTHONPATH": str(PROJECT_ROOT)}
        return Launch(command=command, env=env, cwd=work)

    def probe(self, settings: Settings) -> str:
        status, body = call(settings, "/status", timeout=5)
        if status != 200:
            raise ServiceUnavailable(f"serveur de lecture rapide : /status répond HTTP {status} ({body.get('error')})")
        return f"API OK ({body.get('queries', 0)} requête(s) servie(s))"
