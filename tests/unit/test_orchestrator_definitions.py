"""The orchestrator's definitions, built from the project's own dbt manifest and settings (no service):
the lineage from the API to each gold mart, one check per dbt data test, per Great Expectations suite and
per stream's freshness, the daily schedule, which failures are retried, the alert message."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lakehouse.core.service_watch import ServiceDown
from lakehouse.core.settings import load_settings
from lakehouse.core.streams import load_streams
from lakehouse.core.write_lock import WriteLockBusy
from lakehouse.orchestrator import JOB_NAME, SCHEDULE_NAME
from lakehouse.orchestrator.alerts import post_alert
from lakehouse.orchestrator.dbt_assets import load_manifest, write_manifest
from lakehouse.orchestrator.lake_run import transient
from lakehouse.pipeline import StepFailed
from lakehouse_dev.sandbox import write_sandbox_env


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("orchestrator")
    env_file = write_sandbox_env(folder, 20000, LAKEHOUSE_SCHEDULE_CRON="30 3 * * *")
    settings = load_settings(environ={}, env_file=env_file)
    write_manifest(settings)  # `dbt parse`: no connection
    return settings


@pytest.fixture(scope="module")
def definitions(settings):
    from lakehouse.orchestrator.definitions import build_definitions

    return build_definitions(settings)


def _upstream(graph, key):
    seen, todo = set(), [key]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def test_every_dbt_model_is_an_asset_named_after_its_table_and_every_gold_mart_reaches_the_api(settings, definitions):
    manifest = load_manifest(settings)
    graph = definitions.resolve_asset_graph()
    keys = {tuple(key.path) for key in graph.get_all_asset_keys()}
    tables = {
        (node["schema"], node.get("alias") or node["name"])
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "snapshot", "seed") and node["config"]["materialized"] != "ephemeral"
    }
    assert tables <= keys
    gold = {key for key in keys if key[0] == "gold"}
    assert len(gold) >= 5
    streams = set(load_streams())
    assert {key[1] for key in keys if key[0] == "landing"} == {key[1] for key in keys if key[0] == "bronze"} == streams
    for mart in gold:
        layers = {key.path[0] for key in _upstream(graph, graph.get(tuple_key(mart)).key)}
        assert layers >= {"api_bceao", "landing", "bronze", "silver"}, mart
    assert {("maintenance", "iceberg"), ("serving", "postgres"), ("search", "index")} <= keys


def tuple_key(path):
    from dagster import AssetKey

    return AssetKey(list(path))


def test_checks_cover_each_dbt_data_test_each_quality_suite_and_each_stream_freshness(settings, definitions):
    from lakehouse_spark.quality import load_suite_specs

    manifest = load_manifest(settings)
    checks = {(tuple(key.asset_key.path), key.name) for key in definitions.resolve_asset_graph().asset_check_keys}
    names = {name for _, name in checks}
    data_tests = [node for node in manifest["nodes"].values() if node["resource_type"] == "test"]
    assert sum(1 for node in data_tests if node["name"] in names) == len(data_tests)
    for suite in load_suite_specs(settings):
        assert f"gx_{suite.name}" in names, suite.name
    for stream in load_streams():
        assert (("bronze", stream), "fraicheur") in checks


def test_one_job_runs_everything_in_one_process_and_the_schedule_follows_the_setting(definitions):
    job = definitions.resolve_job_def(JOB_NAME)
    assert job.executor_def.name == "in_process"
    [schedule] = [s for s in definitions.schedules if s.name == SCHEDULE_NAME]
    assert schedule.cron_schedule == "30 3 * * *" and schedule.execution_timezone == "UTC"
    assert schedule.default_status.value == "RUNNING" and schedule.job_name == JOB_NAME


def test_only_a_service_that_stops_answering_is_retried():
    service = StepFailed("register", ServiceDown("SeaweedFS ne répond plus"))
    try:
        try:
            raise WriteLockBusy("verrou occupé")
        except WriteLockBusy as busy:
            raise StepFailed("ingest", RuntimeError("arrêté")) from busy
    except StepFailed as chained:
        assert transient(chained)
    assert transient(service)
    assert not transient(StepFailed("dbt-build", RuntimeError("audit en échec : taux_inflation_pct")))


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        self.server.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_an_alert_is_one_json_message_and_an_unreachable_receiver_is_said(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    lines: list[str] = []
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        assert post_alert(
            settings.with_values(LAKEHOUSE_ALERT_WEBHOOK=url), "run_en_echec", lines.append, etape="ingest"
        )
    finally:
        server.shutdown()
        server.server_close()
    [body] = server.received
    assert body["source"] == "lakehouse-uemoa" and body["evenement"] == "run_en_echec" and body["etape"] == "ingest"
    assert not post_alert(settings, "run_en_echec", lines.append)  # no webhook: nothing sent, nothing said
    closed = settings.with_values(LAKEHOUSE_ALERT_WEBHOOK=url)
    assert not post_alert(closed, "run_en_echec", lines.append)
    assert lines[-1].startswith("alerte « run_en_echec » non envoyée à LAKEHOUSE_ALERT_WEBHOOK"), lines
