"""`make ingest`: run the Airbyte connector for each stream and land its records in S3.

For each stream, separately and at the same time as the others (one failing stream never leaves
another half-landed):
recover an interrupted publication, read the committed state from the lake, run the
connector incrementally from it, write Parquet + Snappy parts, then publish them and
commit the new state all-or-nothing (`lake_store`). Records re-read by the indicators'
look-back window that were already landed in the same version (same key and
`date_publication`) are not landed twice. The streams, and what identifies a landed
version of a record, are declared in `conf/streams.toml`.

The API's URL is given by the caller (`lakehouse.bceao_api` starts the local stand-in when no
`LAKEHOUSE_BCEAO_API_URL` is configured).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse.core.errors import LakehouseError
from lakehouse.core.numbers import number, seconds
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import Settings
from lakehouse.core.streams import StreamSpec, load_streams, selected_streams
from lakehouse_ingestion.arrow_schema import columns_from_json_schema
from lakehouse_ingestion.connector import (
    ConnectorError,
    check_connection,
    configured_catalog,
    connector_config,
    connector_executable,
    declared_streams,
    run_connector,
)
from lakehouse_ingestion.connector_forks import forking_connectors
from lakehouse_ingestion.lake_store import LakeStore
from lakehouse_ingestion.parquet_parts import PartWriter

# Streams read at the same time, each by its own connector process (2 cores: more only adds contention).
PARALLEL_STREAMS = 3


class IngestError(LakehouseError):
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
            failed = f"ÉCHEC après {seconds(self.seconds)}"
            return f"{self.stream}: {failed} — {self.error} (rien n'a été déposé pour ce flux)"
        extra = f", {self.already_landed} déjà déposés" if self.already_landed else ""
        extra += f", {self.nulled_values} valeurs hors schéma mises à null" if self.nulled_values else ""
        rate = self.records_read / self.seconds if self.seconds else 0.0
        return (
            f"{self.stream}: {number(self.records_read)} lus, {number(self.records_landed)} déposés{extra} ; "
            f"{number(self.files)} fichiers, {number(self.bytes / 1e6, 2)} Mo ; "
            f"{seconds(self.seconds)} ({number(rate)} enr./s) ; "
            f"état {'enregistré' if self.state_saved else 'inchangé'}"
        )


class LandedVersions:
    """Record versions already landed, so that a re-read record is not landed twice.

    With `remember_versions = "all"` every landed version is remembered (the indicators'
    look-back window re-reads whole years: a few hundred versions). With `"cursor"` the
    cursor restarts at its last value, inclusive: only the versions at that boundary are
    remembered (the cursor is the last of the version fields)."""

    def __init__(self, spec: StreamSpec, committed: frozenset[str]):
        self.fields = spec.version_fields
        self.boundary_field = spec.cursor if spec.remember_versions == "cursor" else None
        self.known = set(committed)
        self.boundary_value: str | None = None
        self.boundary: set[str] = set()
        if self.boundary_field and committed:
            self.boundary_value = max(version.rsplit("|", 1)[1] for version in committed)
            self.boundary = set(committed)

    def version(self, data: dict[str, Any]) -> str:
        return "|".join(str(data.get(name)) for name in self.fields)

    def already_landed(self, version: str) -> bool:
        return version in self.known

    def add(self, version: str, data: dict[str, Any]) -> None:
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


def ingest_stream(
    settings: Settings,
    store: LakeStore,
    stream: dict[str, Any],
    config: dict[str, Any],
    work_dir: Path,
    fail_after: str | None = None,
    before_publish: Callable[[], None] | None = None,
) -> StreamReport:
    """Read one stream and publish what it landed; `before_publish` may refuse the publication by raising
    (the connection check running beside the read)."""
    name = stream["name"]
    report = StreamReport(name)
    started = time.monotonic()
    report.recovered = store.recover(name)
    committed = store.committed(name)
    sync_started = datetime.now(UTC)
    sync_id = int(sync_started.timestamp() * 1000)
    writer = PartWriter(
        name,
        columns_from_json_schema(stream["json_schema"]),
        sync_id,
        sync_started,
        work_dir,
        max_input_bytes=int(float(settings.get("LANDING_MAX_FILE_MB")) * 1024 * 1024),
    )
    versions = LandedVersions(load_streams()[name], committed.landed_versions)
    new_state = committed.state
    state_input = [committed.state] if committed.state else None
    with closing(run_connector(settings, "read", config, configured_catalog(stream), state_input)) as messages:
        for message in messages:
            kind = message.get("type")
            if kind == "RECORD":
                record = message["record"]
                report.records_read += 1
                version = versions.version(record["data"])
                if versions.already_landed(version):
                    report.already_landed += 1
                    continue
                # A record landed with nulled fields is not remembered: it may land again, corrected.
                if writer.add(record["data"], record["emitted_at"], len(str(record["data"]))):
                    versions.add(version, record["data"])
                report.records_landed += 1
            elif kind == "STATE":
                new_state = message["state"]
    parts = writer.finish()
    report.nulled_values = writer.nulled_values
    if before_publish is not None:
        before_publish()
    store.publish(name, sync_id, parts, new_state, versions.to_commit(), fail_after=fail_after)
    report.files = len(parts)
    report.bytes = sum(part.size for part in parts)
    report.state_saved = new_state != committed.state or bool(parts)
    report.seconds = time.monotonic() - started
    return report


def run_ingest(
    settings: Settings,
    streams: tuple[str, ...] | list[str] | None = None,
    out: Reporter = print,
    api_url: str | None = None,
) -> list[StreamReport]:
    """Ingest the streams (all those of `conf/streams.toml` by default) from the API at `api_url`
    (`LAKEHOUSE_BCEAO_API_URL` when not given); raise IngestError naming the failed ones after
    trying them all."""
    url = (api_url or settings.get("BCEAO_API_URL")).rstrip("/")
    if not url:
        raise IngestError(
            "aucune API BCEAO à lire : LAKEHOUSE_BCEAO_API_URL est vide "
            "(`make ingest` démarre alors l'API simulée locale)"
        )
    wanted = selected_streams(streams)
    store = LakeStore(settings)
    config = connector_config(settings, url)
    # Each connector command is a process that spends about 3 s of CPU importing the CDK: here they are forked
    # from one that imported it once (`connector_forks`). `check` runs beside the reads, and no stream is
    # published before it has passed; `discover` is reused from the state folder.
    with forking_connectors(connector_executable(settings)), ThreadPoolExecutor(max_workers=1) as checker:
        checked = checker.submit(check_connection, settings, config)

        def connection_checked() -> None:
            try:
                checked.result()
            except ConnectorError as error:
                raise IngestError(f"connexion à l'API refusée, rien n'a été déposé : {error}") from None

        try:
            declared = declared_streams(settings, config)
        except ConnectorError:
            connection_checked()  # a refused connection explains a failed discover better
            raise
        unknown = [name for name in wanted if name not in declared]
        if unknown:
            raise IngestError(f"flux inconnus du connecteur : {', '.join(unknown)} (déclarés : {', '.join(declared)})")

        def ingest_one(name: str, work: Path) -> StreamReport:
            started = time.monotonic()
            try:
                return ingest_stream(settings, store, declared[name], config, work, before_publish=connection_checked)
            except (ConnectorError, IngestError) as error:
                return StreamReport(name, error=str(error), seconds=time.monotonic() - started)

        reports = _ingest_side_by_side(wanted, ingest_one, out)
        connection_checked()
    failed = [r for r in reports if r.error]
    if failed:
        raise IngestError("; ".join(f"{r.stream} : {r.error}" for r in failed))
    return reports


def _ingest_side_by_side(
    wanted: list[str], ingest_one: Callable[[str, Path], StreamReport], out: Reporter
) -> list[StreamReport]:
    """Each stream read by its own connector process, side by side; reported in the declared order."""
    reports = []
    with (
        tempfile.TemporaryDirectory(prefix="landing-") as work,
        ThreadPoolExecutor(max_workers=max(1, min(len(wanted), PARALLEL_STREAMS))) as pool,
    ):
        futures = [pool.submit(ingest_one, name, Path(work)) for name in wanted]
        for future in futures:
            report = future.result()
            if report.recovered:
                out(f"{report.stream}: reprise — {report.recovered}")
            out(report.line())
            reports.append(report)
    return reports
