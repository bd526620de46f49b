"""`make run`'s engine: steps with progress lines, a failing step named, a summary of real tables."""

from __future__ import annotations

import pytest

from lakehouse import pipeline
from tests.cli_runner import run_cli

pytestmark = pytest.mark.integration


def test_run_prints_each_step_and_a_summary_with_row_counts(spark, running_stack):
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
