"""`make run`'s engine: steps with progress lines, a failing step named, a summary of real tables."""

from __future__ import annotations

import pytest

from lakehouse import pipeline
from lakehouse.build_state import unchanged_since_last_build
from lakehouse.core.clients import iceberg_catalog
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

    # Run again with nothing new: nothing is built, maintained or written.
    before = _every_snapshot(running_stack)
    again = run_cli("run", timeout=600, DBT_TARGET="dev")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "aucun nouveau fichier déposé : Spark n'est pas démarré" in again.stdout
    assert any("dbt-build: OK" in line and "rien à construire" in line for line in again.stdout.splitlines())
    assert any("maintain: OK" in line and "Spark non démarré" in line for line in again.stdout.splitlines())
    assert _every_snapshot(running_stack) == before
    # What makes the next run build: other settings, a table added beside the outputs, a changed source.
    assert unchanged_since_last_build(running_stack)
    assert unchanged_since_last_build(running_stack.with_values(LAKEHOUSE_AUDIT="false")) is None
    spark.sql("CREATE TABLE lakehouse.silver.rt_extra (n INT) USING iceberg")
    assert unchanged_since_last_build(running_stack) is None
    spark.sql("DROP TABLE lakehouse.silver.rt_extra")
    assert unchanged_since_last_build(running_stack)
    spark.sql("INSERT INTO bronze.rt_summary VALUES (-1)")
    assert unchanged_since_last_build(running_stack) is None


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
    assert out[-1].startswith("[2/3] casse: ÉCHEC")
