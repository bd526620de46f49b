"""`make ingest`: run the Airbyte connector for each stream and land its records in S3.

For each stream, separately (one failing stream never leaves another half-landed):
recover an interrupted publication, read the committed state from the lake, run the
connector incrementally from it, write Parquet + Snappy parts, then publish them and
commit the new state all-or-nothing (`lake_store`). Records re-read by the indicators'
look-back window that were already landed in the same version (same key and
`date_publication`) are not landed twice.

Without `LAKEHOUSE_BCEAO_API_URL`, the local stand-in of the BCEAO API is started for the
duration of the run.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lakehouse.services.process import port_is_free
from lakehouse.settings import Settings
from lakehouse_ingestion.arrow_schema import columns_from_json_schema
from lakehouse_ingestion.connector import ConnectorError, check_connection, configured_catalog, connector_config, discover, run_connector
from lakehouse_ingestion.lake_store import LakeStore
from lakehouse_ingestion.parquet_parts import PartWriter

STREAMS = ("indicateurs_economiques_uemoa", "raw_users", "raw_events")
# What identifies one landed version of a record. The indicators' look-back window re-reads
# whole years: every landed version is remembered (a few hundred). The timestamp cursors
# restart at their last value, inclusive: only the versions at that boundary are remembered.
VERSION_FIELDS = {
    "indicateurs_economiques_uemoa": ("pays", "annee", "trimestre", "date_publication"),
    "raw_users": ("user_id", "updated_at"),
    "raw_events": ("event_id", "occurred_at"),
}
BOUNDARY_CURSOR = {"raw_users": "updated_at", "raw_events": "occurred_at"}

Out = Callable[[str], None]


class IngestError(Exception):
    """One or more streams could not be ingested; the message names each and why."""


@dataclass
class StreamReport:
    stream: str
    records_read: int = 0
    records_landed: int = 0
    already_landed: int = 0
    nulled_values: int = 0
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    state_saved: bool = False
    recovered: str | None = None
    error: str | None = None

    def line(self) -> str:
        if self.error:
            return f"{self.stream}: ÉCHEC après {self.seconds:.1f} s — {self.error} (rien n'a été déposé pour ce flux)"
        extra = f", {self.already_landed} déjà déposés" if self.already_landed else ""
        extra += f", {self.nulled_values} valeurs hors schéma mises à null" if self.nulled_values else ""
        rate = self.records_read / self.seconds if self.seconds else 0.0
        return (f"{self.stream}: {self.records_read} lus, {self.records_landed} déposés{extra} ; "
                f"{self.files} fichiers, {self.bytes / 1e6:.2f} Mo ; {self.seconds:.1f} s ({rate:,.0f} enr./s) ; "
                f"état {'enregistré' if self.state_saved else 'inchangé'}")


@contextmanager
def api_endpoint(settings: Settings, out: Out) -> Iterator[str]:
    """The BCEAO API URL: the configured one, or a local stand-in started for the run."""
    configured = settings.get("BCEAO_API_URL").rstrip("/")
    if configured:
        yield configured
        return
    from lakehouse_ingestion.api_server import ApiState, start_api_server

    port = settings.get_int("BCEAO_API_PORT")
    if not port_is_free("127.0.0.1", port):
        raise IngestError(f"API simulée : le port {port} est déjà occupé (LAKEHOUSE_BCEAO_API_PORT dans conf/lakehouse.env)")
    state = ApiState(api_key=settings.get("BCEAO_API_KEY"), vintage=settings.get_int("STANDIN_VINTAGE"),
                     users=settings.get_int("STANDIN_USERS"), events=settings.get_int("STANDIN_EVENTS"))
    with start_api_server(state, port=port) as server:
        out(f"API BCEAO simulée sur {server.url} ({state.users} utilisateurs, {state.events} événements, millésime {state.vintage})")
        yield server.url


class LandedVersions:
    """Record versions already landed, so that a re-read record is not landed twice."""

    def __init__(self, stream: str, committed: frozenset[str]):
        self.fields = VERSION_FIELDS.get(stream)
        self.boundary_field = BOUNDARY_CURSOR.get(stream)
        self.known = set(committed)
        self.boundary_value: str | None = None
        self.boundary: set[str] = set()
        if self.boundary_field and committed:
            self.boundary_value = max(version.rsplit("|", 1)[1] for version in committed)
            self.boundary = set(committed)

    def version(self, data: dict[str, Any]) -> str | None:
        return None if self.fields is None else "|".join(str(data.get(name)) for name in self.fields)

    def already_landed(self, version: str | None) -> bool:
        return version is not None and version in self.known

    def add(self, version: str | None, data: dict[str, Any]) -> None:
        if version is None:
            return
        if self.boundary_field is None:
            self.known.add(version)
            return
        value = str(data.get(self.boundary_field))
        if self.boundary_value is None or value > self.boundary_value:
            self.boundary_value, self.boundary = value, {version}
        elif value == self.boundary_value:
            self.boundary.add(version)

    def to_commit(self) -> frozenset[str]:
        return frozenset(self.boundary if self.boundary_field else self.known)


def ingest_stream(settings: Settings, store: LakeStore, stream: dict[str, Any], config: dict[str, Any],
                  work_dir: Path, fail_after: str | None = None) -> StreamReport:
    name = stream["name"]
    report = StreamReport(name)
    started = time.monotonic()
    report.recovered = store.recover(name)
    committed = store.committed(name)
    sync_started = datetime.now(timezone.utc)
    sync_id = int(sync_started.timestamp() * 1000)
    writer = PartWriter(name, columns_from_json_schema(stream["json_schema"]), sync_id, sync_started, work_dir,
                        max_input_bytes=int(float(settings.get("LANDING_MAX_FILE_MB")) * 1024 * 1024))
    versions = LandedVersions(name, committed.landed_versions)
    new_state = committed.state
    state_input = [committed.state] if committed.state else None
    for message in run_connector(settings, "read", config, configured_catalog(stream), state_input):
        kind = message.get("type")
        if kind == "RECORD":
            record = message["record"]
            report.records_read += 1
            version = versions.version(record["data"])
            if versions.already_landed(version):
                report.already_landed += 1
                continue
            if writer.add(record["data"], record["emitted_at"], len(str(record["data"]))):
                versions.add(version, record["data"])  # a record landed with nulled fields may land again, corrected
            report.records_landed += 1
        elif kind == "STATE":
            new_state = message["state"]
    parts = writer.finish()
    report.nulled_values = writer.nulled_values
    store.publish(name, sync_id, parts, new_state, versions.to_commit(), fail_after=fail_after)
    report.files = len(parts)
    report.bytes = sum(part.size for part in parts)
    report.state_saved = new_state != committed.state or bool(parts)
    report.seconds = time.monotonic() - started
    return report


def run_ingest(settings: Settings, streams: tuple[str, ...] | list[str] | None = None, out: Out = print,
               api_url: str | None = None) -> list[StreamReport]:
    """Ingest the streams; raise IngestError naming the failed ones after trying them all."""
    wanted = list(streams or STREAMS)
    store = LakeStore(settings)
    reports = []
    with (_fixed(api_url) if api_url else api_endpoint(settings, out)) as url:
        config = connector_config(settings, url)
        try:
            check_connection(settings, config)
        except ConnectorError as error:
            raise IngestError(f"connexion à l'API refusée avant toute lecture : {error}") from None
        declared = discover(settings, config)
        unknown = [name for name in wanted if name not in declared]
        if unknown:
            raise IngestError(f"flux inconnus du connecteur : {', '.join(unknown)} (déclarés : {', '.join(declared)})")
        with tempfile.TemporaryDirectory(prefix="landing-") as work:
            for name in wanted:
                started = time.monotonic()
                try:
                    report = ingest_stream(settings, store, declared[name], config, Path(work))
                except ConnectorError as error:
                    report = StreamReport(name, error=str(error), seconds=time.monotonic() - started)
                if report.recovered:
                    out(f"{name}: reprise — {report.recovered}")
                out(report.line())
                reports.append(report)
    failed = [r for r in reports if r.error]
    if failed:
        raise IngestError("; ".join(f"{r.stream} : {r.error}" for r in failed))
    return reports


@contextmanager
def _fixed(url: str) -> Iterator[str]:
    yield url.rstrip("/")
