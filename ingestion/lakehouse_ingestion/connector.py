"""Run the Airbyte declarative connector (`source-declarative-manifest`) as Airbyte would.

The connector runs in its own virtualenv (`LAKEHOUSE_AIRBYTE_VENV`) as a separate process (during an
ingestion, forked from one that has imported the CDK once: `connector_forks.py`); its standard output
is the Airbyte protocol (one JSON message per line: RECORD, STATE, LOG, TRACE), read here as a stream
so that millions of records never sit in memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.core.files import write_private
from lakehouse.core.settings import PROJECT_ROOT, Settings
from lakehouse_ingestion.connector_forks import start_connector

MANIFEST = PROJECT_ROOT / "ingestion" / "manifest.yaml"


class ConnectorError(LakehouseError):
    """The connector failed; the message carries its own error text."""


def connector_executable(settings: Settings) -> Path:
    venv = Path(os.path.expanduser(settings.get("AIRBYTE_VENV")))
    venv = venv if venv.is_absolute() else PROJECT_ROOT / venv
    executable = venv / "bin" / "source-declarative-manifest"
    if not executable.is_file():
        raise ConnectorError(f"connecteur Airbyte introuvable ({executable}) : lancez `make setup`")
    return executable


def connector_config(settings: Settings, api_url: str) -> dict[str, Any]:
    """The connector's configuration (its spec is in the manifest) from the lakehouse settings."""
    api_key = settings.get("BCEAO_API_KEY")
    if not api_key:
        raise ConnectorError(
            "LAKEHOUSE_BCEAO_API_KEY est vide : lancez `make setup` ou définissez la clé de l'API BCEAO"
        )
    return {
        "api_url": api_url,
        "api_key": api_key,
        "start_year": settings.get_int("INGEST_START_YEAR"),
        "lookback_years": settings.get_int("INGEST_LOOKBACK_YEARS"),
        "start_datetime": settings.get("INGEST_START_DATETIME"),
        "page_size": settings.get_int("INGEST_PAGE_SIZE"),
        "max_retries": settings.get_int("INGEST_MAX_RETRIES"),
        "retry_backoff_seconds": float(settings.get("INGEST_RETRY_BACKOFF_SECONDS")),
    }


def summarize_error(text: str) -> str:
    """One readable line for the user from the connector's (often very long) error text."""
    statuses = re.findall(r"status code '?(\d{3})", text) or re.findall(r"HTTP Status Code: (\d{3})", text)
    if any(code in ("401", "403") for code in statuses) or "refuse la clé" in text:
        code = next((c for c in statuses if c in ("401", "403")), "401/403")
        return (
            f"l'API BCEAO refuse la clé (HTTP {code}) : vérifiez LAKEHOUSE_BCEAO_API_KEY "
            "(ou api_key dans la configuration du connecteur)"
        )
    if statuses:
        return (
            f"l'API BCEAO répond HTTP {statuses[-1]} même après les nouvelles tentatives "
            "(LAKEHOUSE_INGEST_MAX_RETRIES) : réessayez plus tard"
        )
    if "Connection refused" in text or "Max retries exceeded" in text or "NewConnectionError" in text:
        return "l'API BCEAO est injoignable (connexion refusée) : vérifiez LAKEHOUSE_BCEAO_API_URL"
    return first_line(text)


def _error_text(message: dict[str, Any]) -> str | None:
    if message.get("type") != "TRACE" or message["trace"].get("type") != "ERROR":
        return None
    error = message["trace"]["error"]
    return error.get("message") or error.get("internal_message")


def run_connector(
    settings: Settings, verb: str, config: dict[str, Any], catalog: dict | None = None, state: list | None = None
) -> Iterator[dict[str, Any]]:
    """Yield the connector's protocol messages; raise ConnectorError if it fails. A caller that may stop
    early wraps it in `contextlib.closing`, so that the connector process is stopped at once."""
    with tempfile.TemporaryDirectory(prefix="airbyte-") as work:
        folder = Path(work)
        command = [
            str(connector_executable(settings)),
            verb,
            "--config",
            str(write_private(folder / "config.json", json.dumps(config))),
            "--manifest-path",
            str(MANIFEST),
        ]
        if catalog is not None:
            command += ["--catalog", str(write_private(folder / "catalog.json", json.dumps(catalog)))]
        if state:
            command += ["--state", str(write_private(folder / "state.json", json.dumps(state)))]
        errors: list[str] = []
        stderr_path = folder / "stderr.log"
        with stderr_path.open("wb") as stderr, start_connector(command, stderr) as process:
            tally = RecordTally()
            try:
                assert process.stdout is not None
                for number, line in enumerate(process.stdout, start=1):
                    if not line.startswith(b"{"):
                        continue
                    message = _parsed(line, number)
                    tally.count(message)
                    error = _error_text(message)
                    if error:
                        errors.append(error)
                    yield message
                code = process.wait()
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        if code != 0 or errors:
            detail = "\n".join(errors) if errors else stderr_path.read_text(errors="replace").strip()[-3000:]
            raise ConnectorError(
                summarize_error(detail) if detail else f"le connecteur s'est arrêté avec le code {code}"
            )
        tally.check()


def _parsed(line: bytes, number: int) -> dict[str, Any]:
    try:
        return json.loads(line)
    except ValueError as error:
        raise ConnectorError(
            f"le connecteur a écrit une ligne qui n'est pas un message Airbyte (ligne {number} de sa sortie, "
            f"{len(line)} octets, début : {line[:100].decode(errors='replace')!r} ; {error}). Rien n'est publié "
            "pour ce flux : relancez l'ingestion ; si cela se répète, signalez-le avec cette ligne"
        ) from None


class RecordTally:
    """Records received per stream, against the counts the connector announces in its STATE messages
    (`sourceStats.recordCount`: the records of the stream since its previous STATE). A difference means
    that records were lost or doubled between the connector and us (e.g. a damaged output line)."""

    def __init__(self) -> None:
        self.received: dict[str, int] = {}
        self.announced: dict[str, int] = {}

    def count(self, message: dict[str, Any]) -> None:
        if message.get("type") == "RECORD":
            stream = message["record"]["stream"]
            self.received[stream] = self.received.get(stream, 0) + 1
        elif message.get("type") == "STATE":
            state = message["state"]
            stats = state.get("sourceStats") or {}
            if state.get("type") == "STREAM" and "recordCount" in stats:
                stream = state["stream"]["stream_descriptor"]["name"]
                self.announced[stream] = self.announced.get(stream, 0) + int(stats["recordCount"])

    def check(self) -> None:
        for stream, announced in self.announced.items():
            received = self.received.get(stream, 0)
            if received != announced:
                raise ConnectorError(
                    f"{stream} : le connecteur annonce {announced} enregistrements, {received} reçus "
                    "(sortie du connecteur endommagée). Rien n'est publié pour ce flux : relancez l'ingestion"
                )


def check_connection(settings: Settings, config: dict[str, Any]) -> None:
    """Airbyte's `check` before a sync: a wrong key or an unreachable API fails here, clearly."""
    with closing(run_connector(settings, "check", config)) as messages:
        for message in messages:
            status = message.get("connectionStatus", {})
            if message.get("type") == "CONNECTION_STATUS" and status["status"] != "SUCCEEDED":
                raise ConnectorError(summarize_error(status.get("message") or "échec du check"))


def discover(settings: Settings, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The streams the connector declares: name → Airbyte stream (json_schema, keys, cursor)."""
    with closing(run_connector(settings, "discover", config)) as messages:
        for message in messages:
            if message.get("type") == "CATALOG":
                return {stream["name"]: stream for stream in message["catalog"]["streams"]}
    raise ConnectorError("le connecteur n'a pas renvoyé de catalogue (discover)")


# Configuration keys that are secrets: never part of a cache key.
SECRET_KEYS = ("api_key",)


def declared_streams(settings: Settings, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`discover`, kept under the state folder. The streams and their schemas come from the manifest alone
    (inline schemas), so the result is reused while the manifest, the connector's pinned runtime
    (`requirements-airbyte.txt`) and the non-secret configuration are unchanged: about 2 s of connector
    start saved on each run."""
    digest = hashlib.sha256()
    for path in (MANIFEST, MANIFEST.parent / "requirements-airbyte.txt"):
        digest.update(path.read_bytes())
    digest.update(json.dumps({k: v for k, v in config.items() if k not in SECRET_KEYS}, sort_keys=True).encode())
    cached = settings.state_dir / "airbyte" / f"catalog-{digest.hexdigest()[:16]}.json"
    if cached.is_file():
        try:
            streams = json.loads(cached.read_text())
        except ValueError:
            streams = None
        if isinstance(streams, dict):
            return streams  # anything else is a damaged file: discovered again below
    streams = discover(settings, config)
    cached.parent.mkdir(parents=True, exist_ok=True)
    write_private(cached, json.dumps(streams))
    return streams


def configured_catalog(stream: dict[str, Any]) -> dict[str, Any]:
    """An incremental-append configured catalog for one stream."""
    return {
        "streams": [
            {
                "stream": stream,
                "sync_mode": "incremental",
                "destination_sync_mode": "append",
                "cursor_field": stream.get("default_cursor_field", []),
                "primary_key": stream.get("source_defined_primary_key", []),
            }
        ]
    }
