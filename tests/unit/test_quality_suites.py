"""The Great Expectations project (quality/gx) as reviewers expect it, without a running stack:
every suite loads in GX, names a table the lakehouse has and its key columns, keeps its thresholds in
the suite, and blocks publication only for the layers that are published (silver, gold)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lakehouse.core import branches
from lakehouse.core.settings import PROJECT_ROOT, load_settings
from lakehouse.core.streams import load_streams
from lakehouse_spark.quality import QUALITY_PROJECT, Outcome, great_expectations, load_suite_specs, working_project

SUITES = sorted((QUALITY_PROJECT / "expectations").glob("*.json"))
MODELS = {path.stem for path in (PROJECT_ROOT / "dbt" / "models" / "marts").rglob("*.sql")}


def document(path: Path) -> dict:
    return json.loads(path.read_text())


def test_there_is_a_suite_per_bronze_stream_and_for_silver_and_gold():
    layers = {document(path)["meta"]["lakehouse"]["layer"] for path in SUITES}
    assert layers == {"bronze", "silver", "gold"}
    bronze = {document(path)["meta"]["lakehouse"]["table"] for path in SUITES if path.stem.startswith("bronze_")}
    assert bronze == {f"$bronze.{stream}" for stream in load_streams()}


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.stem)
def test_each_suite_loads_in_great_expectations_and_names_its_table(path):
    gx = great_expectations()
    suite = gx.ExpectationSuite(**{k: v for k, v in document(path).items()})
    assert suite.name == path.stem and suite.expectations
    meta = suite.meta["lakehouse"]
    namespace, table = meta["table"].split(".")
    assert path.stem in (f"{meta['layer']}_{table}", table)  # gold tables already say gold_
    if meta["layer"] != "bronze":
        assert namespace == meta["layer"] and table in MODELS
    assert meta["keys"], "les colonnes clés montrent les lignes fautives"
    for expectation in suite.expectations:
        query = getattr(expectation, "unexpected_rows_query", None)
        if query:
            assert "{batch}" in query and expectation.description, query


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.stem)
def test_only_silver_and_gold_block_publication(path):
    suite = document(path)
    severities = {expectation["severity"] for expectation in suite["expectations"]}
    if suite["meta"]["lakehouse"]["layer"] == "bronze":
        assert "critical" not in severities  # bronze keeps what arrived: reported, never blocking
    else:
        assert severities == {"critical"}


def test_the_working_copy_resolves_the_bronze_namespace_and_leaves_the_repository_alone(tmp_path):
    settings = load_settings(environ={"LAKEHOUSE_STATE_DIR": str(tmp_path), "LAKEHOUSE_BRONZE_NAMESPACE": "b2"})
    root = working_project(settings)
    copied = (root / "expectations" / "silver_dim_uemoa_indicators.json").read_text()
    assert "$bronze" not in copied and "b2.indicateurs_economiques_uemoa" in copied
    assert "$bronze" in (QUALITY_PROJECT / "expectations" / "silver_dim_uemoa_indicators.json").read_text()
    assert {spec.table for spec in load_suite_specs(settings) if spec.layer == "bronze"} == {
        f"b2.{stream}" for stream in load_streams()
    }


def test_a_failure_line_names_table_column_expectation_observed_value_and_keys():
    outcome = Outcome(
        suite="silver_dim_uemoa_indicators",
        table="silver.dim_uemoa_indicators",
        layer="silver",
        snapshot_id=1,
        expectation="expect_column_values_to_be_between",
        column="taux_inflation_pct",
        severity="critical",
        success=False,
        observed="1 valeur(s) inattendue(s) (0.21 %) : 450.0",
        sample=["(NER, 2024, 4)"],
        description="inflation plausible : de -20 % à 60 %",
    )
    line = outcome.line()
    assert outcome.blocking and "\n" not in line
    for part in ("silver.dim_uemoa_indicators", "taux_inflation_pct", "expect_column_values_to_be_between"):
        assert part in line
    assert "450.0" in line and "(NER, 2024, 4)" in line


def test_audit_branch_names_carry_their_creation_time():
    now = datetime(2026, 12, 1, 13, 5, 9, tzinfo=UTC)
    name = branches.new_audit_branch(now)
    assert name == "audit_20261201_130509" and branches.audit_branch_time(name) == now
    assert branches.audit_branch_time("main") is None and branches.audit_branch_time("audit_x") is None


def test_the_data_docs_keep_the_newest_results_of_each_suite(tmp_path):
    from lakehouse_spark.quality import prune_validation_results

    settings = load_settings(
        environ={"LAKEHOUSE_STATE_DIR": str(tmp_path), "LAKEHOUSE_S3_ACCESS_KEY": "AK", "LAKEHOUSE_S3_SECRET_KEY": "s"},
        env_file=tmp_path / "absent.env",
    )
    root = settings.quality_dir / "gx" / "uncommitted"
    times = [f"2026120{day}T010000.000000Z" for day in (3, 1, 4, 2)]  # stored in no particular order
    for suite, count in (("silver_dim", 4), ("gold_kpi", 1)):
        for run_time in times[:count]:
            for folder, name in (("validations", "r.json"), ("data_docs/local_site/validations", "r.html")):
                path = root / folder / suite / "__none__" / run_time / name
                path.parent.mkdir(parents=True)
                path.write_text("{}")
    (root / "validations" / ".ge_store_backend_id").write_text("id")
    assert prune_validation_results(settings, keep=2) == 2
    for folder in ("validations", "data_docs/local_site/validations"):
        kept = {p.name for p in (root / folder / "silver_dim" / "__none__").iterdir()}
        assert kept == {"20261203T010000.000000Z", "20261204T010000.000000Z"}, folder
        assert [p.name for p in (root / folder / "gold_kpi" / "__none__").iterdir()] == [times[0]]
    assert (root / "validations" / ".ge_store_backend_id").exists()
    assert prune_validation_results(settings, keep=2) == 0
