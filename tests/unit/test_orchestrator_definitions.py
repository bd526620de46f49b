"""The orchestrator's definitions, built from the project's own dbt manifest and settings (no service):
the lineage from the API to each gold mart, one check per dbt data test, per Great Expectations suite and
per stream's freshness, the daily schedule, which failures are retried, the alert message."""

from __future__ import annotations

import pytest
from dagster import AssetKey

from lakehouse.core.service_watch import ServiceDown
from lakehouse.core.settings import SettingsError, load_settings
from lakehouse.core.streams import load_streams
from lakehouse.core.write_lock import WriteLockBusy
from lakehouse.orchestrator import JOB_NAME, SCHEDULE_NAME, check_schedule
from lakehouse.orchestrator.alerts import post_alert
from lakehouse.orchestrator.dbt_assets import load_manifest, write_manifest
from lakehouse.orchestrator.lake_run import transient
from lakehouse.pipeline import StepFailed
from lakehouse_dev.sandbox import write_sandbox_env
from tests.alert_receiver import alert_receiver


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


def _upstream(graph, key: AssetKey) -> set[AssetKey]:
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
        layers = {key.path[0] for key in _upstream(graph, AssetKey(list(mart)))}
        assert layers >= {"api_bceao", "landing", "bronze", "silver"}, mart
    assert {("maintenance", "iceberg"), ("serving", "postgres"), ("search", "index")} <= keys


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


def test_an_alert_is_one_json_message_and_an_unreachable_receiver_is_said(settings):
    lines: list[str] = []
    with alert_receiver() as (url, received):
        assert post_alert(
            settings.with_values(LAKEHOUSE_ALERT_WEBHOOK=url), "run_en_echec", lines.append, etape="ingest"
        )
    [body] = received
    assert body["source"] == "lakehouse-uemoa" and body["evenement"] == "run_en_echec" and body["etape"] == "ingest"
    assert not post_alert(settings, "run_en_echec", lines.append)  # no webhook: nothing sent, nothing said
    for unreachable in (url, "pas-une-url"):  # the receiver is gone; a value that is no URL
        assert not post_alert(settings.with_values(LAKEHOUSE_ALERT_WEBHOOK=unreachable), "run_en_echec", lines.append)
        assert lines[-1].startswith("alerte « run_en_echec » non envoyée à LAKEHOUSE_ALERT_WEBHOOK"), lines


def test_a_schedule_that_is_no_cron_is_refused_in_one_french_line(settings):
    check_schedule(settings)
    with pytest.raises(SettingsError, match="LAKEHOUSE_SCHEDULE_CRON='tous les jours' n'est pas une expression cron"):
        check_schedule(settings.with_values(LAKEHOUSE_SCHEDULE_CRON="tous les jours"))
