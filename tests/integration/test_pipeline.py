"""`make run`'s engine: steps with progress lines, a failing step named, a summary of real tables.

The lake is the fault suite's (`recovered_lake`): built by a `make run` killed in every step, whose last
run, with one new day of events from an external API, is the one checked here as a user reads it (each
step, the summary, the run report, the metrics, `make status`). Then a run with nothing new builds and
writes nothing, the build plan answers for each kind of change, and a day of new events rebuilds only
what depends on them.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime

import pytest

from lakehouse import build_state, pipeline, run_report
from lakehouse.build_state import (
    CODE_CHANGED,
    build_inputs,
    manifest_dir,
    plan_build,
    save_build_state,
    source_selectors,
)
from lakehouse.core.clients import hive_query, iceberg_catalog
from lakehouse.core.maintenance_policy import load_policy
from lakehouse.dbt_runner import DBT_DIR
from lakehouse_spark.maintenance_due import record_maintained
from tests.cli_runner import run_cli
from tests.faults.fixtures import NEW_DAY_EVENTS
from tests.french import assert_french_numbers
from tests.lake_tables import every_snapshot
from tests.lakehouse_run import run_command

pytestmark = pytest.mark.integration


def _column(settings, identifier: str, column: str) -> list:
    table = iceberg_catalog(settings).load_table(identifier)
    return table.scan(selected_fields=(column,)).to_arrow()[column].to_pylist()


def test_run_prints_each_step_and_a_summary_then_a_second_run_does_nothing(recovered_lake, tmp_path, monkeypatch):
    settings, env_file = recovered_lake.settings, recovered_lake.env_file
    final = recovered_lake.runs["final"]
    lines = final.output().splitlines()
    total = len(pipeline.STEPS)
    for index, step in enumerate(pipeline.STEPS, start=1):
        assert any(line.startswith(f"[{index}/{total}] {step.name}: OK en ") for line in lines), final.output()
    assert any(line.startswith("Résumé") for line in lines)
    assert any("lakehouse.gold.gold_mart_uemoa_convergence" in line for line in lines), final.output()
    assert_french_numbers(final.output())
    _check_the_run_report(settings, env_file, final.output())

    # Run again with nothing new: nothing is built, maintained or written. A developer's DBT_TARGET=dev does
    # not divert `make run`: it publishes silver and gold.
    hive_query(settings, "CREATE TABLE lakehouse.bronze.rt_summary (n INT) USING iceberg")
    hive_query(settings, "INSERT INTO lakehouse.bronze.rt_summary SELECT CAST(id AS INT) FROM range(1234)")
    # A table never maintained is due for a first maintenance: record it as maintained (a table property,
    # no snapshot), as the chain's last run did for every other table.
    policy = load_policy(settings.maintenance_policy_file)
    record_maintained(settings, "bronze.rt_summary", policy.for_table("bronze.rt_summary"), datetime.now(UTC))
    before = every_snapshot(settings)
    again = run_command(env_file, "run", DBT_TARGET="dev")
    assert again.process.returncode == 0, again.output()[-4000:]
    assert "aucun nouveau fichier déposé : Spark n'est pas démarré" in again.output()
    assert any("dbt-build: OK" in line and "rien à construire" in line for line in again.output().splitlines())
    assert any("maintain: OK" in line and "sans Spark" in line for line in again.output().splitlines())
    summary = [line for line in again.output().splitlines() if "lakehouse.bronze.rt_summary" in line]
    assert summary and "1\u202f234 lignes" in summary[0], again.output()  # French: narrow no-break space
    assert every_snapshot(settings) == before
    namespaces = {namespace for (namespace,) in iceberg_catalog(settings).list_namespaces()}
    assert not {"dev_silver", "dev_gold"} & namespaces
    quiet = run_report.last_run(settings)
    assert quiet["status"] == "success"
    assert sum(t["snapshots_created"] for t in quiet["tables"]) == 0  # nothing written, and the report says so

    # What makes the next run build, and how much of it.
    assert plan_build(settings).nothing
    assert plan_build(settings.with_values(LAKEHOUSE_AUDIT="false")).whole
    catalog = iceberg_catalog(settings)
    catalog.create_table("silver.rt_extra", schema=catalog.load_table("bronze.rt_summary").schema())
    assert plan_build(settings).whole
    catalog.drop_table("silver.rt_extra")
    assert plan_build(settings).nothing
    hive_query(settings, "INSERT INTO lakehouse.bronze.rt_summary VALUES (-1)")  # a bronze table no model reads
    assert plan_build(settings).nothing
    # A model edited: in a copy of the project (another pytest process builds from dbt/ meanwhile).
    project = tmp_path / "dbt"
    shutil.copytree(DBT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    with monkeypatch.context() as patch:
        patch.setattr(build_state, "DBT_DIR", project)
        inputs = build_inputs(settings)
        model = project / "models" / "marts" / "gold" / "fct_events_enriched.sql"
        original = model.read_text()
        model.write_text(original + "\n-- commentaire\n")
        plan = plan_build(settings)
        assert (plan.whole, plan.select) == (False, (CODE_CHANGED,)) and plan.state_dir is not None
        assert plan.unit_tests and plan.excluded_resource_types == ()  # changed code: its unit tests run
        # A build that started before the edit and ended after it did not build the edit.
        save_build_state(settings, inputs)
        assert plan_build(settings).select == (CODE_CHANGED,)
        model.write_text(original)
        assert plan_build(settings).nothing

    # The manifest kept is the lake's own build's (other lakes of this checkout build with dbt meanwhile).
    assert "bronze.raw_events" in source_selectors(manifest_dir(settings) / "manifest.json")

    # New events only: the models downstream of raw_events are built, the other tables keep their snapshot
    # and are not validated again, and gold holds every event once.
    before = every_snapshot(settings)
    gold_before = len(_column(settings, "gold.fct_events_enriched", "event_id"))
    events = settings.get_int("STANDIN_EVENTS") + NEW_DAY_EVENTS
    increment = run_command(env_file, "run", LAKEHOUSE_STANDIN_EVENTS=str(events + 500))
    assert increment.process.returncode == 0, increment.output()[-4000:]
    assert "dbt build --select source:bceao.raw_events+" in increment.output(), increment.output()
    # New data with unchanged code: the dbt unit tests (code checks on fixed rows) are not run again.
    assert "--exclude-resource-type unit_test" in increment.output()
    assert "START unit_test" not in increment.output()
    assert "gold.gold_mart_uemoa_convergence : inchangée par cette construction" in increment.output()
    after = every_snapshot(settings)
    changed = {t for t in after if after[t] != before.get(t) and t.split(".")[0] in ("silver", "gold")}
    assert changed == {"silver.stg_events", "gold.fct_events_enriched"}, increment.output()
    bronze = _column(settings, "bronze.raw_events", "event_id")
    gold = _column(settings, "gold.fct_events_enriched", "event_id")
    assert len(set(bronze)) == len(gold) == len(set(gold)) == gold_before + 500


def _check_the_run_report(settings, env_file, stdout: str) -> dict:
    """The report of a run that landed a day of events, as `make run` writes it (JSON, metrics, make status)."""
    [path] = re.findall(r"rapport d'exécution : (\S+\.json) ;", stdout)
    with open(path, encoding="utf-8") as handle:
        body = json.load(handle)
    assert path == f"{run_report.runs_dir(settings)}/run-{body['run_id']}.json"
    assert body["status"] == "success" and body["failed_step"] is None
    assert [s["name"] for s in body["steps"]] == [s.name for s in pipeline.STEPS]
    steps = {s["name"]: s for s in body["steps"]}
    assert all(s["status"] == "ok" and s["seconds"] > 0 for s in body["steps"])
    landed = steps["ingest"]["facts"]["records_landed"]
    assert landed == {"indicateurs_economiques_uemoa": 0, "raw_users": 0, "raw_events": NEW_DAY_EVENTS}
    assert steps["register"]["facts"]["files_quarantined"] == {
        "indicateurs_economiques_uemoa": 0,
        "raw_users": 0,
        "raw_events": 0,
    }
    nodes = steps["dbt-build"]["facts"]["dbt_nodes"]
    assert "model.uemoa_lakehouse.fct_events_enriched" in nodes and set(nodes.values()) <= {"success", "pass"}
    tables = {t["table"]: t for t in body["tables"]}
    events = settings.get_int("STANDIN_EVENTS") + NEW_DAY_EVENTS
    assert tables["bronze.raw_events"]["rows"] == events
    assert tables["gold.fct_events_enriched"]["snapshots_created"] >= 1
    freshness = {f["source"]: f for f in body["freshness"]}
    assert set(freshness) == {"indicateurs_economiques_uemoa", "raw_users", "raw_events"}
    assert freshness["raw_events"]["status"] in ("ok", "alerte", "erreur")
    assert freshness["raw_events"]["warn_after_days"] == 2 and freshness["raw_events"]["age_seconds"] >= 0
    metrics = run_report.metrics_file(settings).read_text(encoding="utf-8")
    assert f'lakehouse_table_rows{{table="bronze.raw_events"}} {events}' in metrics
    assert "lakehouse_run_success 1" in metrics and "lakehouse_last_success_timestamp_seconds " in metrics
    assert 'lakehouse_source_freshness_warn_seconds{source="raw_events"} 172800' in metrics
    status = run_cli("status", env_file=env_file)
    assert "dernière exécution (make run) :" in status.stdout and "réussie" in status.stdout, status.stdout
    return body


def test_a_failing_step_stops_the_run_and_is_named(running_stack):
    ran = []
    steps = [
        pipeline.Step("premiere", "réussit", lambda s: ran.append("premiere") or "ok"),
        pipeline.Step("casse", "échoue", lambda s: (_ for _ in ()).throw(RuntimeError("fichier illisible"))),
        pipeline.Step("jamais", "ne doit pas tourner", lambda s: ran.append("jamais")),
    ]
    out: list[str] = []
    with pytest.raises(pipeline.StepFailed) as failed:
        pipeline.run_pipeline(running_stack, steps, out=out.append)
    assert failed.value.step == "casse"
    assert "casse" in str(failed.value) and "fichier illisible" in str(failed.value)
    assert ran == ["premiere"]
    assert out[-2].startswith("[2/3] casse: ÉCHEC") and out[-1].startswith("rapport d'exécution : ")
    body = run_report.last_run(running_stack)
    assert (body["status"], body["failed_step"], body["error"]) == ("failed", "casse", "fichier illisible")
    assert [(s["name"], s["status"]) for s in body["steps"]] == [("premiere", "ok"), ("casse", "failed")]
    metrics = run_report.metrics_file(running_stack).read_text(encoding="utf-8")
    assert "lakehouse_run_success 0" in metrics
