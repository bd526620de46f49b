"""Write-Audit-Publish on the real stack: silver and gold are built on an audit branch, checked by the
dbt tests and the Great Expectations suites, and published together only when everything passes. Builds
go through `make run`'s dbt step: after the first, only what is downstream of the changed source.

Bad rows are planted straight into bronze (as a faulty landed file would put them there); a later
vintage of the same quarter is the fix a data team would land. A dbt test failing on the branch is
checked through the orchestrator, which runs the same build (`test_orchestrator`).
"""

from __future__ import annotations

import threading

import pytest

from lakehouse import pipeline, publication
from lakehouse.core import branches
from lakehouse.core.clients import iceberg_catalog
from lakehouse_dev.api_server import ApiState, start_api_server
from lakehouse_ingestion.ingest import run_ingest
from lakehouse_spark.register import register
from tests import planted_rows
from tests.cli_runner import run_cli
from tests.private_lake import private_lake

pytestmark = pytest.mark.integration
STREAM = "indicateurs_economiques_uemoa"
KEY = ("NER", 2024, 4)


@pytest.fixture(scope="module")
def lake(running_stack, spark):
    """Sample data (vintage 1) landed and registered in a bronze namespace of its own, then a first
    audited build that publishes."""
    settings = private_lake(running_stack, spark, "wap")
    state = ApiState(api_key=settings.get("BCEAO_API_KEY"), vintage=1, users=50, events=300)
    with start_api_server(state) as api:
        run_ingest(settings, api_url=api.url, out=lambda _: None)
    register(spark, settings, out=lambda _: None)
    build(settings)
    return settings


def build(settings) -> str:
    """The dbt step of `make run`: an audited build of what changed since the last published build."""
    return pipeline.build_what_changed(settings, out=lambda _: None)


def mains(settings) -> dict[str, int | None]:
    return {
        identifier: table.metadata.refs["main"].snapshot_id
        for identifier, table in publication.audited_tables(settings)
    }


def plant(spark, settings, published: str, **values) -> None:
    """Land in bronze a copy of KEY's latest row with another publication date and some values changed."""
    planted_rows.plant(spark, settings, KEY, published, **values)


def silver_value(spark, column: str, ref: str = "main"):
    pays, annee, trimestre = KEY
    return spark.sql(
        f"SELECT {column} FROM lakehouse.silver.dim_uemoa_indicators VERSION AS OF '{ref}' "
        f"WHERE pays = '{pays}' AND annee = {annee} AND trimestre = {trimestre}"
    ).collect()[0][0]


def test_a_clean_build_is_published_and_its_results_recorded(lake, spark):
    record = publication.AuditRecord.load_latest(lake)
    assert record.status == "published"
    for name, table in publication.audited_tables(lake):
        assert record.branch not in table.metadata.refs  # dropped once published
        if table.spec().fields:  # created on the branch with the project's tblproperties: no fanout writer
            assert table.properties.get("write.spark.fanout.enabled") == "false", (name, table.properties)
    results = spark.sql(
        "SELECT layer, count(*), sum(CASE WHEN success THEN 0 ELSE 1 END) FROM lakehouse.quality.validation_results "
        f"WHERE branch = '{record.branch}' GROUP BY layer"
    ).collect()
    assert {row[0] for row in results} == {"silver", "gold"}
    assert all(row[1] > 0 and row[2] == 0 for row in results), results
    assert (lake.quality_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").exists()
    # make audit-report: each table at the snapshot this audit published; a manifest rewrite since keeps
    # the data (a compaction since), a write outside the audit is flagged and never shown as checked
    table = "gold.gold_mart_uemoa_union_aggregates"
    published = mains(lake)[table]
    assert all("celui que cet audit a publié" in line for line in report_lines(lake)[2:]), report_lines(lake)
    spark.sql(f"CALL lakehouse.system.rewrite_data_files(table => '{table}', options => map('rewrite-all', 'true'))")
    assert mains(lake)[table] != published
    [line] = [line for line in report_lines(lake) if table in line]
    assert f"mêmes données que le snapshot {published}" in line, line
    spark.sql(f"INSERT INTO lakehouse.{table} SELECT * FROM lakehouse.{table} LIMIT 1")
    try:
        report = report_lines(lake)
        [line] = [line for line in report if table in line]
        assert "NON AUDITÉ" in line and f"publié par cet audit : snapshot {published}" in line, line
        assert any(line.startswith("  ATTENTION : 1 table(s) ont changé sur main après cet audit") for line in report)
    finally:
        spark.sql(f"CALL lakehouse.system.rollback_to_snapshot('{table}', {published})")


def test_the_data_docs_show_their_validations_offline_in_chromium(lake, tmp_path):
    """The Data Docs page as a reader opens it, in Debian's headless Chromium with every host name but
    127.0.0.1 unresolvable: the validations list is drawn by its scripts, each suite page opens, and no
    request of any page leaves the machine."""
    from lakehouse_spark.quality import data_docs_index
    from tests.browser import Chromium, left_the_machine

    requested: list[str] = []
    with Chromium(tmp_path) as browser:
        page = browser.new_page()
        page.open(data_docs_index(lake).as_uri())
        assert page.evaluate("typeof jQuery === 'function' && typeof jQuery.fn.bootstrapTable === 'function'")
        assert page.evaluate("document.querySelectorAll('tr[data-index]').length") > 0  # the validations list
        suites = page.evaluate(
            "[...new Set(Array.from(document.querySelectorAll('a[href*=\"expectations/\"]')).map(a => a.href))]"
        )
        validations = page.evaluate(  # the rows of the validations list lead there when clicked
            "[].concat(...Array.from(document.querySelectorAll('table'))"
            ".filter(t => jQuery(t).data('bootstrap.table'))"
            ".map(t => jQuery(t).bootstrapTable('getData').map(r => r._table_row_link_path)))"
            ".filter(p => p && p.startsWith('validations/')).map(p => new URL(p, location.href).href)"
        )
        assert len(suites) >= 5 and validations, (suites, validations)
        requested += page.requests
        assert "/validations/" in page.click('tr[data-index="0"] td')  # a person clicks the first result
        requested += page.requests
        for url in suites + validations[:3]:
            page.open(url)
            assert page.evaluate("typeof jQuery === 'function'"), url  # its scripts loaded from the site
            assert page.evaluate("document.querySelectorAll('table, .card').length") > 0, url
            requested += page.requests
    assert requested and left_the_machine(requested) == []


def report_lines(settings) -> list[str]:
    lines: list[str] = []
    publication.audit_report(settings, out=lines.append)
    return lines


def test_an_out_of_range_row_stops_publication_and_main_is_untouched(lake, spark):
    before = mains(lake)
    plant(spark, lake, "2025-09-30", taux_inflation_pct="450.0")
    with pytest.raises(publication.AuditFailed) as failed:
        build(lake)
    message = str(failed.value)
    line = next(line for line in message.splitlines() if "taux_inflation_pct" in line)
    assert "silver.dim_uemoa_indicators" in line and "expect_column_values_to_be_between" in line
    assert "450" in line and "NER, 2024, 4" in line, line
    assert mains(lake) == before  # main untouched: same snapshot ids
    record = publication.AuditRecord.load_latest(lake)
    assert record.status == "failed"
    assert float(silver_value(spark, "taux_inflation_pct", record.branch)) == 450.0  # kept for inspection
    assert float(silver_value(spark, "taux_inflation_pct")) != 450.0
    report: list[str] = []
    publication.audit_report(lake, out=report.append)
    assert any("taux_inflation_pct" in line for line in report), report


def test_force_publishes_the_failed_audit_and_says_who_and_when(lake, spark, monkeypatch):
    before = mains(lake)
    with pytest.raises(publication.LakehouseError, match="FORCE=1"):
        publication.force_publish(lake, force=False)
    assert mains(lake) == before
    monkeypatch.setenv("LAKEHOUSE_OPERATOR", "analyste.bceao")
    branch = publication.force_publish(lake, force=True, out=lambda _: None)
    assert mains(lake) != before
    assert float(silver_value(spark, "taux_inflation_pct")) == 450.0
    table = iceberg_catalog(lake).load_table(("silver", "dim_uemoa_indicators"))
    summary = table.current_snapshot().summary
    assert summary["lakehouse.published-by"] == "analyste.bceao"
    assert summary["lakehouse.audit-branch"] == branch and summary["lakehouse.published-at"]
    assert publication.AuditRecord.load_latest(lake).status == "forced"


def test_a_new_vintage_is_published_and_concurrent_readers_never_see_a_mix(lake, spark):
    before = mains(lake)
    plant(spark, lake, "2025-12-31", taux_inflation_pct="2.5")
    observed: list[dict] = []
    done = threading.Event()

    def reader():
        # A second session: its own catalog client, reading main of every table twice; two equal reads
        # are one consistent observation (a publication in between would make them differ).
        while not done.is_set():
            first, second = mains(lake), mains(lake)
            if first == second:
                observed.append(first)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        build(lake)
    finally:
        done.set()
        thread.join()
    after = mains(lake)
    assert after["silver.dim_uemoa_indicators"] != before["silver.dim_uemoa_indicators"]
    assert float(silver_value(spark, "taux_inflation_pct")) == 2.5
    observed.append(after)
    mixes = [o for o in observed if o not in (before, after)]
    assert not mixes, f"{len(mixes)} lectures mélangent l'ancienne et la nouvelle publication"
    assert before in observed and after in observed


def test_maintain_drops_audit_branches_older_than_the_policy(lake):
    catalog = iceberg_catalog(lake)
    table = catalog.load_table(("silver", "dim_uemoa_indicators"))
    main = table.metadata.refs["main"].snapshot_id
    old, recent = "audit_20200101_000000", branches.new_audit_branch()
    table.manage_snapshots().create_branch(main, old).create_branch(main, recent).commit()
    dropped = publication.drop_stale_audit_branches(lake)  # conf/maintenance.toml: 168 h
    refs = catalog.load_table(("silver", "dim_uemoa_indicators")).metadata.refs
    assert dropped >= 1 and old not in refs and recent in refs
    branches.drop_branch(catalog.load_table(("silver", "dim_uemoa_indicators")), recent)


def stored_runs(settings) -> dict[str, list[str]]:
    """The validation results GX keeps for its Data Docs, per suite: <suite>/<run name>/<run time>."""
    store = settings.quality_dir / "gx" / "uncommitted" / "validations"
    return {suite.name: sorted(run.name for run in suite.glob("*/*")) for suite in store.iterdir() if suite.is_dir()}


def test_make_quality_validates_main_and_records_the_results(lake, spark):
    """`make quality` on main; with LAKEHOUSE_DATA_DOCS_KEEP_RUNS=1 the Data Docs keep the newest result of
    each suite (the earlier builds of the session left several), the results table keeps them all."""
    results = "lakehouse.quality.validation_results"
    before = spark.sql(f"SELECT count(*) FROM {results} WHERE branch = 'main'").collect()[0][0]
    runs_before = stored_runs(lake)
    assert max(len(runs) for runs in runs_before.values()) > 1, runs_before
    result = run_cli(
        "quality",
        timeout=600,
        LAKEHOUSE_LANDING_BUCKET=lake.landing_bucket,
        LAKEHOUSE_BRONZE_NAMESPACE=lake.get("BRONZE_NAMESPACE"),
        LAKEHOUSE_DATA_DOCS_KEEP_RUNS="1",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "attentes satisfaites" in result.stdout and "Data Docs" in result.stdout
    assert "silver.dim_uemoa_indicators" in result.stdout and "gold.gold_mart_uemoa_convergence" in result.stdout
    after = spark.sql(f"SELECT count(*) FROM {results} WHERE branch = 'main'").collect()[0][0]
    assert after > before
    runs_after = stored_runs(lake)
    assert runs_after.keys() == runs_before.keys() and all(len(runs) == 1 for runs in runs_after.values())
    site = lake.quality_dir / "gx" / "uncommitted" / "data_docs" / "local_site"
    index = (site / "index.html").read_text(encoding="utf-8")
    for suite, runs in runs_before.items():
        [kept] = runs_after[suite]
        assert kept >= max(runs) and kept in index, suite  # the newest, listed on the page
        assert list((site / "validations" / suite).glob(f"*/{kept}/*.html")), suite
        for gone in set(runs) - {kept}:
            assert gone not in index and not list((site / "validations" / suite).glob(f"*/{gone}")), (suite, gone)
