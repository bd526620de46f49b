"""`make run`'s engine: steps with progress lines, a failing step named, a summary of real tables."""

from __future__ import annotations

import pytest

from lakehouse import pipeline, run_report
from lakehouse.build_state import CODE_CHANGED, build_inputs, plan_build, save_build_state
from lakehouse.core.clients import iceberg_catalog
from lakehouse.dbt_runner import DBT_DIR
from tests.cli_runner import run_cli

pytestmark = pytest.mark.integration


def _every_snapshot(settings) -> dict[str, list[int]]:
    catalog = iceberg_catalog(settings)
    return {
        ".".join(identifier): [s.snapshot_id for s in catalog.load_table(identifier).snapshots()]
        for (namespace,) in catalog.list_namespaces()
        for identifier in catalog.list_tables(namespace)
    }


def test_run_prints_each_step_and_a_summary_then_a_second_run_does_nothing(spark, running_stack):
    spark.sql("CREATE OR REPLACE TABLE lakehouse.bronze.rt_summary (n INT) USING iceberg")
    spark.sql("INSERT INTO bronze.rt_summary SELECT id FROM range(1234)")
    # A developer's DBT_TARGET=dev does not divert `make run`: it publishes silver and gold.
    result = run_cli("run", timeout=600, DBT_TARGET="dev")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    total = len(pipeline.STEPS)
    for index, step in enumerate(pipeline.STEPS, start=1):
        assert any(line.startswith(f"[{index}/{total}] {step.name}: OK en ") for line in lines), result.stdout
    assert any(line.startswith("Résumé") for line in lines)
    summary = [line for line in lines if "lakehouse.bronze.rt_summary" in line]
    assert summary and "1,234 lignes" in summary[0], result.stdout
    assert any("lakehouse.gold.gold_mart_uemoa_convergence" in line for line in lines), result.stdout
    namespaces = {row[0] for row in spark.sql("SHOW NAMESPACES").collect()}
    assert not {"dev_silver", "dev_gold"} & namespaces
    first = _check_the_run_report(running_stack, result.stdout)

    # Run again with nothing new: nothing is built, maintained or written.
    before = _every_snapshot(running_stack)
    again = run_cli("run", timeout=600, DBT_TARGET="dev")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "aucun nouveau fichier déposé : Spark n'est pas démarré" in again.stdout
    assert any("dbt-build: OK" in line and "rien à construire" in line for line in again.stdout.splitlines())
    assert any("maintain: OK" in line and "sans Spark" in line for line in again.stdout.splitlines())
    assert _every_snapshot(running_stack) == before
    quiet = run_report.last_run(running_stack)
    assert quiet["status"] == "success" and quiet["run_id"] != first["run_id"]
    assert sum(t["snapshots_created"] for t in quiet["tables"]) == 0  # nothing written, and the report says so
    # What makes the next run build, and how much of it.
    assert plan_build(running_stack).nothing
    assert plan_build(running_stack.with_values(LAKEHOUSE_AUDIT="false")).whole
    spark.sql("CREATE TABLE lakehouse.silver.rt_extra (n INT) USING iceberg")
    assert plan_build(running_stack).whole
    spark.sql("DROP TABLE lakehouse.silver.rt_extra")
    assert plan_build(running_stack).nothing
    spark.sql("INSERT INTO bronze.rt_summary VALUES (-1)")  # a bronze table that no model reads
    assert plan_build(running_stack).nothing
    model = DBT_DIR / "models" / "marts" / "gold" / "fct_events_enriched.sql"
    original = model.read_text()
    inputs = build_inputs(running_stack)
    try:
        model.write_text(original + "\n-- commentaire\n")
        plan = plan_build(running_stack)
        assert (plan.whole, plan.select) == (False, (CODE_CHANGED,)) and plan.state_dir is not None
        assert plan.unit_tests and plan.excluded_resource_types == ()  # changed code: its unit tests run
        # A build that started before the edit and ended after it did not build the edit.
        save_build_state(running_stack, inputs)
        assert plan_build(running_stack).select == (CODE_CHANGED,)
    finally:
        model.write_text(original)
    assert plan_build(running_stack).nothing

    # New events only: the models downstream of raw_events are built, the other tables keep their snapshot
    # and are not validated again, and gold holds every event once.
    before = _every_snapshot(running_stack)
    events = int(running_stack.get("STANDIN_EVENTS"))
    gold_before = spark.sql("SELECT count(*) FROM gold.fct_events_enriched").collect()[0][0]
    increment = run_cli("run", timeout=600, LAKEHOUSE_STANDIN_EVENTS=str(events + 500))
    assert increment.returncode == 0, increment.stdout + increment.stderr
    assert "dbt build --select source:bceao.raw_events+" in increment.stdout, increment.stdout
    # New data with unchanged code: the dbt unit tests (code checks on fixed rows) are not run again.
    assert "--exclude-resource-type unit_test" in increment.stdout and "START unit_test" not in increment.stdout
    assert "gold.gold_mart_uemoa_convergence : inchangée par cette construction" in increment.stdout
    after = _every_snapshot(running_stack)
    changed = {t for t in after if after[t] != before.get(t) and t.split(".")[0] in ("silver", "gold")}
    assert changed == {"silver.stg_events", "gold.fct_events_enriched"}, increment.stdout
    bronze_events, gold_rows, gold_events = spark.sql(
        "SELECT (SELECT count(DISTINCT event_id) FROM bronze.raw_events), "
        "(SELECT count(*) FROM gold.fct_events_enriched), "
        "(SELECT count(DISTINCT event_id) FROM gold.fct_events_enriched)"
    ).collect()[0]
    assert bronze_events == gold_rows == gold_events == gold_before + 500


def _check_the_run_report(settings, stdout: str) -> dict:
    """The report of a first full run, as `make run` writes it (JSON, metrics, make status); its body."""
    body = run_report.last_run(settings)
    assert f"rapport d'exécution : {run_report.runs_dir(settings)}/run-{body['run_id']}.json" in stdout
    assert body["status"] == "success" and body["failed_step"] is None
    assert [s["name"] for s in body["steps"]] == [s.name for s in pipeline.STEPS]
    steps = {s["name"]: s for s in body["steps"]}
    assert all(s["status"] == "ok" and s["seconds"] > 0 for s in body["steps"])
    assert set(steps["ingest"]["facts"]["records_landed"]) == {
        "indicateurs_economiques_uemoa",
        "raw_users",
        "raw_events",
    }
    assert steps["register"]["facts"]["files_quarantined"] == {
        "indicateurs_economiques_uemoa": 0,
        "raw_users": 0,
        "raw_events": 0,
    }
    nodes = steps["dbt-build"]["facts"]["dbt_nodes"]
    assert "model.uemoa_lakehouse.dim_uemoa_indicators" in nodes and set(nodes.values()) <= {"success", "pass"}
    assert "maintenance" in steps["maintain"]["facts"]
    tables = {t["table"]: t for t in body["tables"]}
    assert tables["bronze.rt_summary"]["rows"] == 1234
    assert tables["gold.gold_mart_uemoa_convergence"]["snapshots_created"] >= 1
    freshness = {f["source"]: f for f in body["freshness"]}
    assert set(freshness) == {"indicateurs_economiques_uemoa", "raw_users", "raw_events"}
    assert freshness["raw_events"]["status"] in ("ok", "alerte", "erreur")
    assert freshness["raw_events"]["warn_after_days"] == 2 and freshness["raw_events"]["age_seconds"] >= 0
    metrics = run_report.metrics_file(settings).read_text(encoding="utf-8")
    assert 'lakehouse_table_rows{table="bronze.rt_summary"} 1234' in metrics
    assert "lakehouse_run_success 1" in metrics and "lakehouse_last_success_timestamp_seconds " in metrics
    assert 'lakehouse_source_freshness_warn_seconds{source="raw_events"} 172800' in metrics
    status = run_cli("status")
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
