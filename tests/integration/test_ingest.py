"""Ingestion on the real stack: the Airbyte connector (airbyte-cdk) against the local API
stand-in, landing Parquet + Snappy in SeaweedFS, with every fault case of the issue."""

from __future__ import annotations

import io
import json
import re
import uuid

import pyarrow.parquet as pq
import pytest
import requests

from lakehouse_dev import dataset
from lakehouse_dev.api_server import ApiState, start_api_server
from lakehouse_ingestion.connector import (
    ConnectorError,
    configured_catalog,
    connector_config,
    declared_streams,
    discover,
)
from lakehouse_ingestion.ingest import IngestError, ingest_stream, run_ingest
from lakehouse_ingestion.lake_store import LakeStore, SimulatedCrash

pytestmark = pytest.mark.integration

KEY_FORMAT = r"^bronze/{stream}/\d{{4}}_\d{{2}}_\d{{2}}_\d{{13}}_\d+\.parquet$"
AIRBYTE_COLUMNS = ["_airbyte_raw_id", "_airbyte_extracted_at", "_airbyte_meta", "_airbyte_generation_id"]


@pytest.fixture
def lake(running_stack):
    """The test stack's settings with a fresh landing bucket (each test starts from an empty landing zone)."""
    bucket = f"landing-{uuid.uuid4().hex[:12]}"
    settings = running_stack.with_values(
        LAKEHOUSE_LANDING_BUCKET=bucket,
        LAKEHOUSE_INGEST_RETRY_BACKOFF_SECONDS="0.05",
        LAKEHOUSE_INGEST_MAX_RETRIES="6",
        LAKEHOUSE_INGEST_PAGE_SIZE="400",
    )
    LakeStore(settings).s3.create_bucket(Bucket=bucket)
    return settings


@pytest.fixture
def api(lake):
    state = ApiState(api_key=lake.get("BCEAO_API_KEY") or "test-key", vintage=1, users=300, events=2500)
    with start_api_server(state) as server:
        yield server


@pytest.fixture
def lake_with_key(lake, api):
    return lake.with_values(LAKEHOUSE_BCEAO_API_KEY=api.state.api_key)


def _tables(settings, stream):
    store = LakeStore(settings)
    tables = {}
    for obj in store.landed_objects(stream):
        body = store.s3.get_object(Bucket=store.bucket, Key=obj["key"])["Body"].read()
        tables[obj["key"]] = pq.ParquetFile(io.BytesIO(body))
    return tables


def _rows(settings, stream):
    rows = []
    for parquet in _tables(settings, stream).values():
        rows.extend(parquet.read().to_pylist())
    return rows


def _admin(api, path, payload):
    requests.post(f"{api.url}/admin/{path}", json=payload, timeout=10).raise_for_status()


def test_first_run_lands_every_stream_in_airbyte_s3_format(lake_with_key, api):
    reports = {r.stream: r for r in run_ingest(lake_with_key, api_url=api.url, out=lambda _: None)}
    expected = {"indicateurs_economiques_uemoa": 480, "raw_users": 300, "raw_events": 2500}
    for stream, count in expected.items():
        report = reports[stream]
        assert report.records_read == report.records_landed == count, report
        tables = _tables(lake_with_key, stream)
        assert len(tables) == report.files >= 1
        assert sum(t.metadata.num_rows for t in tables.values()) == count
        for key, parquet in tables.items():
            assert re.match(KEY_FORMAT.format(stream=stream), key), key
            assert parquet.schema_arrow.names[:4] == AIRBYTE_COLUMNS
            meta = parquet.metadata
            codecs = {
                meta.row_group(g).column(c).compression
                for g in range(meta.num_row_groups)
                for c in range(meta.num_columns)
            }
            assert codecs == {"SNAPPY"}
    indicators = _rows(lake_with_key, "indicateurs_economiques_uemoa")
    assert len({(r["pays"], r["annee"], r["trimestre"]) for r in indicators}) == 480
    first = indicators[0]
    assert uuid.UUID(first["_airbyte_raw_id"]) and first["_airbyte_extracted_at"].tzinfo is not None
    assert first["_airbyte_meta"]["changes"] == [] and first["_airbyte_generation_id"] == 0
    assert all(r["masse_monetaire_m3_milliards_fcfa"] is None for r in indicators)
    expected_rows = {(r["pays"], r["annee"], r["trimestre"]): r for r in dataset.indicator_records(vintage=1)}
    sample = next(r for r in indicators if (r["pays"], r["annee"], r["trimestre"]) == ("CIV", 2023, 2))
    assert sample["pib_nominal_milliards_fcfa"] == expected_rows[("CIV", 2023, 2)]["pib_nominal_milliards_fcfa"]
    schema = _tables(lake_with_key, "raw_users").popitem()[1].schema_arrow
    assert str(schema.field("updated_at").type) == "timestamp[us, tz=UTC]"
    assert (
        str(_tables(lake_with_key, "indicateurs_economiques_uemoa").popitem()[1].schema_arrow.field("annee").type)
        == "int64"
    )


def test_second_run_lands_no_duplicate_then_picks_up_new_data_and_the_revised_vintage(lake_with_key, api):
    run_ingest(lake_with_key, api_url=api.url, out=lambda _: None)
    again = {r.stream: r for r in run_ingest(lake_with_key, api_url=api.url, out=lambda _: None)}
    assert all(report.records_landed == 0 and report.files == 0 for report in again.values()), again
    assert again["indicateurs_economiques_uemoa"].records_read > 0  # the look-back re-reads recent years
    assert again["raw_events"].records_read <= 1  # the cursor restarts at its last value only

    _admin(api, "state", {"vintage": 2})
    _admin(api, "touch-users", {"count": 5, "updated_at": "2026-01-15T08:00:00Z"})
    _admin(api, "append-events", {"count": 120})
    later = {r.stream: r for r in run_ingest(lake_with_key, api_url=api.url, out=lambda _: None)}
    assert later["indicateurs_economiques_uemoa"].records_landed == len(dataset.revised_keys())
    assert later["raw_users"].records_landed == 5
    assert later["raw_events"].records_landed == 120
    revised = [
        r for r in _rows(lake_with_key, "indicateurs_economiques_uemoa") if str(r["date_publication"]) == "2025-06-30"
    ]
    assert {(r["pays"], r["annee"], r["trimestre"]) for r in revised} == dataset.revised_keys()
    events = _rows(lake_with_key, "raw_events")
    assert len(events) == len({e["event_id"] for e in events}) == 2620


def test_429_and_500_bursts_are_retried_and_the_run_succeeds(lake_with_key, api):
    _admin(api, "state", {"fail_429": 3, "fail_500": 2})
    reports = {r.stream: r for r in run_ingest(lake_with_key, ["raw_users"], api_url=api.url, out=lambda _: None)}
    assert reports["raw_users"].records_landed == 300
    assert len(_rows(lake_with_key, "raw_users")) == 300
    assert api.state.fail_429 == 0 and api.state.fail_500 == 0  # the bursts were really served


def test_an_api_that_stays_down_fails_clearly_and_lands_nothing(lake_with_key, api):
    _admin(api, "state", {"down": True})
    with pytest.raises(IngestError) as failed:
        run_ingest(lake_with_key, ["raw_users", "raw_events"], api_url=api.url, out=lambda _: None)
    message = str(failed.value)
    assert "HTTP 503" in message and len(message) < 600, message
    store = LakeStore(lake_with_key)
    listed = store.s3.list_objects_v2(Bucket=store.bucket).get("KeyCount", 0)
    assert listed == 0, "nothing partial, no state, no staging file"


def test_wrong_api_key_names_the_cause(lake, api):
    settings = lake.with_values(LAKEHOUSE_BCEAO_API_KEY="not-the-key")
    with pytest.raises(IngestError) as refused:
        run_ingest(settings, ["indicateurs_economiques_uemoa"], api_url=api.url, out=lambda _: None)
    message = str(refused.value)
    assert "refuse la clé (HTTP 401" in message and "LAKEHOUSE_BCEAO_API_KEY" in message
    assert len(message) < 400, message
    assert LakeStore(settings).landed_objects("indicateurs_economiques_uemoa") == []


def test_a_malformed_record_is_kept_with_the_field_nulled_and_the_change_recorded(lake_with_key, api):
    _admin(api, "state", {"malformed": True})
    [report] = run_ingest(lake_with_key, ["indicateurs_economiques_uemoa"], api_url=api.url, out=lambda _: None)
    assert report.records_landed == 480 and report.nulled_values == 1
    rows = _rows(lake_with_key, "indicateurs_economiques_uemoa")
    changed = [r for r in rows if r["_airbyte_meta"]["changes"]]
    assert len(rows) == 480 and len(changed) == 1
    assert changed[0]["pib_nominal_milliards_fcfa"] is None
    assert changed[0]["_airbyte_meta"]["changes"] == [
        {"field": "pib_nominal_milliards_fcfa", "change": "NULLED", "reason": "DESTINATION_SERIALIZATION_ERROR"}
    ]


def _stream(settings, api, name):
    config = connector_config(settings, api.url)
    return discover(settings, config)[name], config


@pytest.mark.parametrize("crash_point", ["staging", "first-copy"])
def test_a_crash_during_publication_neither_loses_nor_doubles(lake_with_key, api, tmp_path, crash_point):
    settings = lake_with_key.with_values(LAKEHOUSE_LANDING_MAX_FILE_MB="0.05")  # several parts
    stream, config = _stream(settings, api, "raw_events")
    store = LakeStore(settings)
    with pytest.raises(SimulatedCrash):
        ingest_stream(settings, store, stream, config, tmp_path, fail_after=crash_point)
    visible = store.landed_objects("raw_events")
    assert len(visible) == (0 if crash_point == "staging" else 1)

    lines = []
    [report] = run_ingest(settings, ["raw_events"], api_url=api.url, out=lines.append)
    assert any("reprise" in line for line in lines), lines
    events = _rows(settings, "raw_events")
    assert len(events) == len({e["event_id"] for e in events}) == 2500
    assert len(store.landed_objects("raw_events")) > 1
    leftovers = store.s3.list_objects_v2(Bucket=store.bucket, Prefix="_airbyte/raw_events/staging/").get("KeyCount", 0)
    assert leftovers == 0


def test_the_catalog_is_discovered_once_per_manifest_and_configuration(lake_with_key, api, tmp_path):
    settings = lake_with_key.with_values(LAKEHOUSE_STATE_DIR=str(tmp_path / "state"))
    config = connector_config(settings, api.url)
    discovered = declared_streams(settings, config)
    assert discovered == discover(settings, config)
    # Reused without starting the connector (none can be found now), whatever the key.
    no_connector = settings.with_values(LAKEHOUSE_AIRBYTE_VENV=str(tmp_path / "no-venv"))
    assert declared_streams(no_connector, {**config, "api_key": "another-key"}) == discovered
    # Another non-secret setting is another configuration: discovered again.
    with pytest.raises(ConnectorError, match="connecteur Airbyte introuvable"):
        declared_streams(no_connector, {**config, "page_size": 7})
    # A damaged file is discovered again, then replaced.
    [kept] = (tmp_path / "state" / "airbyte").glob("catalog-*.json")
    for damage in ("[]", "{tronqu"):
        kept.write_text(damage)
        assert declared_streams(settings, config) == discovered
        assert json.loads(kept.read_text()) == discovered


def test_nothing_is_published_while_the_connection_check_refuses(lake_with_key, api, tmp_path):
    stream, config = _stream(lake_with_key, api, "raw_users")
    store = LakeStore(lake_with_key)

    def refused():
        raise IngestError("connexion à l'API refusée, rien n'a été déposé : test")

    with pytest.raises(IngestError):
        ingest_stream(lake_with_key, store, stream, config, tmp_path, before_publish=refused)
    assert store.landed_objects("raw_users") == []
    assert store.committed("raw_users").state is None


def test_configured_catalog_is_incremental_append_with_source_keys(lake_with_key, api):
    stream, _ = _stream(lake_with_key, api, "indicateurs_economiques_uemoa")
    catalog = configured_catalog(stream)["streams"][0]
    assert catalog["sync_mode"] == "incremental" and catalog["destination_sync_mode"] == "append"
    assert catalog["cursor_field"] == ["annee"]
    assert catalog["primary_key"] == [["pays"], ["annee"], ["trimestre"]]
