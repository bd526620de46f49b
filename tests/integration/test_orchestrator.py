"""The Dagster orchestrator (`make orchestrator`) on the session stack, used as a person would: its lineage
page in Debian's headless Chromium, one stream re-run from the page, the daily schedule's tick, a failed check.

The lake is the session's sample lake, left by the usage tests (run just before: `tests/conftest.py`) at the
revised vintage. The orchestrator reads it through an external stand-in API that serves one more day of
events, and sends its alerts to a receiver of this module. The schedule fires every minute until its first
tick, then the test turns it off: the tick is the daemon's own, not a simulated one.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass

import pytest

from lakehouse import pipeline, run_report
from lakehouse.core.clients import iceberg_catalog
from lakehouse.core.settings import PROJECT_ROOT, Settings
from lakehouse.dbt_runner import DBT_DIR
from lakehouse.orchestrator import SCHEDULE_NAME
from lakehouse.services.dagster import dagster_home, dagster_url
from lakehouse_dev.api_server import ApiState, start_api_server
from tests.alert_receiver import alert_receiver
from tests.browser import Chromium, left_the_machine
from tests.cli_runner import run_cli
from tests.dagster_api import asset_graph, launch_run, schedule_runs, stop_schedule, wait_for_run
from tests.lake_tables import every_snapshot
from tests.planted_rows import plant
from tests.sample_lake import BUILD_STEPS

pytestmark = pytest.mark.integration

NEW_DAY_EVENTS = 500
FAILED_TEST = "not_null_dim_uemoa_indicators_pays_nom"  # a country outside the UEMOA has no name
GOLD_MARTS = sorted(path.stem for path in (DBT_DIR / "models" / "marts" / "gold").glob("*.sql"))
LAYERS = ("source", "landing", "bronze", "silver", "gold", "after_build")
SCREENSHOT = PROJECT_ROOT / "docs" / "orchestrateur_lignage.png"


@dataclass
class Orchestrator:
    settings: Settings
    env: dict[str, str]
    started: str  # what `make orchestrator` printed
    alerts: list[dict]


@pytest.fixture(scope="module")
def alerts():
    with alert_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def orchestrator(sample_lake, alerts):
    lake = sample_lake.with_values(LAKEHOUSE_STANDIN_VINTAGE="2")
    pipeline.run_pipeline(lake, BUILD_STEPS, out=lambda _: None)  # nothing left to do after the usage tests
    state = ApiState(
        api_key=lake.get("BCEAO_API_KEY"),
        vintage=2,
        users=lake.get_int("STANDIN_USERS"),
        events=lake.get_int("STANDIN_EVENTS") + NEW_DAY_EVENTS,
    )
    with start_api_server(state) as api:
        env = {
            "LAKEHOUSE_LANDING_BUCKET": lake.landing_bucket,
            "LAKEHOUSE_BRONZE_NAMESPACE": lake.get("BRONZE_NAMESPACE"),
            "LAKEHOUSE_STANDIN_VINTAGE": "2",
            "LAKEHOUSE_BCEAO_API_URL": api.url,
            "LAKEHOUSE_ALERT_WEBHOOK": alerts[0],
            # every minute until its first tick (the tick test then turns it off): the daemon's own tick, soon
            "LAKEHOUSE_SCHEDULE_CRON": "* * * * *",
        }
        started = run_cli("orchestrator", timeout=300, **env)
        assert started.returncode == 0, started.stdout + started.stderr
        try:
            yield Orchestrator(lake.with_values(**env), env, started.stdout, alerts[1])
        finally:
            stopped = run_cli("down", "dagster", "dagster-daemon", **env)
            assert stopped.returncode == 0, stopped.stdout + stopped.stderr


def _upstream(graph: dict, key: tuple[str, ...]) -> set[tuple[str, ...]]:
    seen, todo = set(), [key]
    while todo:
        for parent in graph[todo.pop()]:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def _shown_as(label: str, name: str) -> bool:
    """Does a node label show `name`? The page shortens long names in the middle: `gold_m…_aggregates`."""
    if "…" not in label:
        return label == name
    head, tail = label.split("…", 1)
    return name.startswith(head) and name.endswith(tail) and len(head) + len(tail) < len(name)


def _published(settings):
    from lakehouse.publication import audited_tables

    return audited_tables(settings)


def test_the_lineage_page_shows_the_api_then_landing_bronze_silver_and_every_gold_mart(orchestrator, tmp_path):
    settings = orchestrator.settings
    assert f"page de l'orchestrateur : {dagster_url(settings)}" in orchestrator.started
    assert "run quotidien planifié" in orchestrator.started
    graph = asset_graph(settings)
    assert {key for key in graph if key[0] == "gold"} == {("gold", mart) for mart in GOLD_MARTS}
    for mart in GOLD_MARTS:  # each mart reaches the API through silver, bronze and the landed files
        assert {key[0] for key in _upstream(graph, ("gold", mart))} >= {"api_bceao", "landing", "bronze", "silver"}

    labels, _ = _lineage_page(settings, tmp_path)
    missing = [key for key in graph if not any(_shown_as(label, key[-1]) for label in labels)]
    assert not missing, (missing, labels)


def _lineage_page(settings, folder):
    """The node labels of the global lineage page, every group open (as a click on each does), and its picture."""
    expanded = ",".join(f"global@global:{layer}" for layer in LAYERS)
    with Chromium(folder) as browser:
        page = browser.new_page()
        page.open(f"{dagster_url(settings)}/asset-groups?expanded={expanded}", settle_s=1, timeout_s=60)
        count = len(asset_graph(settings))
        labels: list[str] = []
        deadline = time.monotonic() + 60
        while len(labels) < count and time.monotonic() < deadline:
            time.sleep(0.5)
            labels = page.evaluate(
                '[...document.querySelectorAll(\'[class*="AssetNode_assetName"], [class*="AssetNode_name"]\')]'
                ".map(e => e.innerText.trim())"
            )
        time.sleep(1)  # the materialization states, fetched after the nodes
        shot = page.screenshot(folder / "lignage.png")
        assert not left_the_machine(page.requests), left_the_machine(page.requests)
    return labels, shot


def test_one_stream_is_run_again_alone(orchestrator):
    """« Materialize » on one stream's landed files and bronze table: that stream only is ingested and
    registered, under the same lock and with the same report as `make run`."""
    settings = orchestrator.settings
    run_id = launch_run(settings, assets=[["landing", "raw_users"], ["bronze", "raw_users"]])
    assert wait_for_run(settings, run_id) == "SUCCESS"
    [report] = run_report.runs_launched_by(settings, f"dagster {run_id}")
    assert report["status"] == "success", report
    steps = {step["name"]: step for step in report["steps"]}
    assert list(steps) == ["stack", "ingest", "register"], report
    assert set(steps["ingest"]["facts"]["records_landed"]) == {"raw_users"}
    assert set(steps["register"]["facts"]["rows_registered"]) == {"raw_users"}


def test_the_daily_tick_runs_every_step_of_make_run_and_leaves_nothing_for_it(orchestrator, tmp_path):
    settings = orchestrator.settings
    deadline = time.monotonic() + 180
    while not schedule_runs(settings, SCHEDULE_NAME) and time.monotonic() < deadline:
        time.sleep(1)
    stop_schedule(settings, SCHEDULE_NAME)
    ticks = schedule_runs(settings, SCHEDULE_NAME)
    run_id = ticks[-1]  # the first tick's (a second one may have come before the switch: it finds nothing new)
    for tick in ticks:
        assert wait_for_run(settings, tick) == "SUCCESS", tick

    [report] = run_report.runs_launched_by(settings, f"dagster {run_id}")
    assert report["status"] == "success", report
    assert [step["name"] for step in report["steps"]] == [step.name for step in pipeline.STEPS]
    landed = {step["name"]: step for step in report["steps"]}["ingest"]["facts"]["records_landed"]
    assert landed["raw_events"] == NEW_DAY_EVENTS and landed["indicateurs_economiques_uemoa"] == 0

    # Every event once, from bronze to gold; each gold asset reports the snapshot the catalog now has.
    catalog = iceberg_catalog(settings)
    bronze = catalog.load_table(f"{settings.get('BRONZE_NAMESPACE')}.raw_events").scan(selected_fields=("event_id",))
    gold = catalog.load_table("gold.fct_events_enriched").scan(selected_fields=("event_id",))
    bronze_ids, gold_ids = bronze.to_arrow()["event_id"].to_pylist(), gold.to_arrow()["event_id"].to_pylist()
    expected = settings.get_int("STANDIN_EVENTS") + NEW_DAY_EVENTS
    assert len(set(bronze_ids)) == len(gold_ids) == len(set(gold_ids)) == expected
    from dagster import AssetKey, DagsterInstance

    with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
        for mart in GOLD_MARTS:
            event = instance.get_latest_materialization_event(AssetKey(["gold", mart]))
            # the first tick's, or a later tick's that found nothing new (the schedule fires every minute from the
            # fixture on: on a slow machine, more than one tick comes before it is turned off)
            assert event.run_id in ticks, mart
            metadata = event.asset_materialization.metadata
            current = catalog.load_table(f"gold.{mart}").current_snapshot().snapshot_id
            assert metadata["snapshot_id"].value == str(current), mart

    # `make run` right after: the tick did all it would do.
    before = every_snapshot(settings)
    again = run_cli("run", timeout=600, **orchestrator.env)
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-2000:]
    assert any("dbt-build: OK" in line and "rien à construire" in line for line in again.stdout.splitlines()), (
        again.stdout[-4000:]
    )
    assert every_snapshot(settings) == before
    assert not orchestrator.alerts, orchestrator.alerts

    # The README's picture: the lineage once every asset was materialized (UPDATE_SCREENSHOTS=1 make test).
    _, shot = _lineage_page(settings, tmp_path)
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


def test_a_failed_check_shows_on_the_page_and_posts_an_alert(orchestrator, spark, tmp_path):
    """A figure published for a country outside the UEMOA: the dbt test on its country name fails on the audit
    branch, nothing is published, the asset's page shows the failed check, the webhook gets the failed run."""
    settings = orchestrator.settings
    published = {name: table.current_snapshot().snapshot_id for name, table in _published(settings)}
    plant(spark, settings, ("NER", 2024, 4), "2026-11-30", pays="'XOF'")
    built = [list(key) for key in asset_graph(settings) if key[0] in ("silver", "gold")]
    run_id = launch_run(settings, assets=built)
    assert wait_for_run(settings, run_id) == "FAILURE"
    assert {name: table.current_snapshot().snapshot_id for name, table in _published(settings)} == published
    [report] = run_report.runs_launched_by(settings, f"dagster {run_id}")
    assert (report["status"], report["failed_step"]) == ("failed", "dbt-build"), report

    deadline = time.monotonic() + 30
    while not any(alert.get("run_id") == run_id for alert in orchestrator.alerts) and time.monotonic() < deadline:
        time.sleep(0.5)
    [alert] = [alert for alert in orchestrator.alerts if alert.get("run_id") == run_id]
    assert alert["evenement"] == "run_en_echec" and alert["etape"] == "dbt-build", alert
    assert FAILED_TEST in alert["erreur"] and alert["page"].endswith(run_id), alert

    with Chromium(tmp_path) as browser:
        page = browser.new_page()
        page.open(f"{dagster_url(settings)}/assets/silver/dim_uemoa_indicators?view=checks", timeout_s=60)
        text = ""
        deadline = time.monotonic() + 60
        while FAILED_TEST not in text and time.monotonic() < deadline:
            time.sleep(0.5)
            text = page.evaluate("document.body.innerText")
        line = next((line for line in text.splitlines() if FAILED_TEST in line), "")
        assert line and "Failed" in text, text[:3000]
