"""Which BCEAO API the ingestion reads: the configured one, or the local stand-in started for the run.

With `LAKEHOUSE_BCEAO_API_URL` set, the connector reads that API. Empty (the default on a
machine that cannot reach the BCEAO), the stand-in of `lakehouse_dev` serves the synthetic
dataset on 127.0.0.1 for the duration of the ingestion, so `make run` works anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import Settings
from lakehouse.services.process import port_is_free
from lakehouse_ingestion.ingest import IngestError, StreamReport, run_ingest


@contextmanager
def api_endpoint(settings: Settings, out: Reporter) -> Iterator[str]:
    """The BCEAO API URL: the configured one, or a local stand-in started for the run."""
    configured = settings.get("BCEAO_API_URL").rstrip("/")
    if configured:
        yield configured
        return
    from lakehouse_dev.api_server import ApiState, start_api_server

    port = settings.get_int("BCEAO_API_PORT")
    if not port_is_free("127.0.0.1", port):
        raise IngestError(
            f"API simulée : le port {port} est déjà occupé (LAKEHOUSE_BCEAO_API_PORT dans conf/lakehouse.env)"
        )
    state = ApiState(
        api_key=settings.get("BCEAO_API_KEY"),
        vintage=settings.get_int("STANDIN_VINTAGE"),
        users=settings.get_int("STANDIN_USERS"),
        events=settings.get_int("STANDIN_EVENTS"),
    )
    with start_api_server(state, port=port) as server:
        out(
            f"API BCEAO simulée sur {server.url} ({state.users} utilisateurs, {state.events} événements, "
            f"millésime {state.vintage})"
        )
        yield server.url


def ingest_from_bceao(
    settings: Settings, streams: list[str] | None = None, out: Reporter = print
) -> list[StreamReport]:
    """`make ingest`: the connector on the BCEAO API (or its stand-in), every stream or the named ones."""
    with api_endpoint(settings, out) as url:
        return run_ingest(settings, streams, out=out, api_url=url)
