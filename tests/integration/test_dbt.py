"""dbt-spark over Thrift on the real stack: silver and gold built from bronze, figures checked
against values computed independently in Python from the published dataset; a revised vintage
landed later changes silver and gold on the next build.

The same lake then serves `make changes`: from the first build's snapshot, the change feed must show
exactly what the later builds brought — the revised quarters of `dim_uemoa_indicators` as updates
(pre-image = first vintage, post-image = revised values) and the users who changed their email in
`stg_users` as updates from the old email to the new one. Then the table is rebuilt identically, as dbt
does (`CREATE OR REPLACE`): 0 changes since the state before, and every snapshot `make snapshots` lists
is still accepted as FROM. (One lake for both: each build costs about a minute of the suite.)"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
import requests

from lakehouse.core.clients import hive_query, iceberg_catalog
from lakehouse_dev import dataset
from lakehouse_dev.api_server import ApiState, parse_time, start_api_server
from lakehouse_ingestion.ingest import run_ingest
from lakehouse_spark.change_feed import ChangeFeedError, read_changes
from lakehouse_spark.recovery import history
from lakehouse_spark.register import register
from tests.cli_runner import run_cli
from tests.french import assert_french_numbers
from tests.private_lake import private_lake
from tests.stacks import dbt_target_dir

pytestmark = pytest.mark.integration
STREAM = "indicateurs_economiques_uemoa"
DIM, USERS = "silver.dim_uemoa_indicators", "silver.stg_users"
HISTORY = "silver.uemoa_indicators_history"  # dbt snapshot of DIM (dbt/snapshots/)
TOUCHED = 3  # users who change their email (and move to TGO) between the builds
CENT = Decimal("0.01")


def amount(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def measure(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(CENT, ROUND_HALF_UP)


def ratio(numerator, denominator):
    return None if numerator is None or denominator is None or denominator <= 0 else numerator / denominator


class Expected:
    """Gold figures recomputed from the dataset's published rows, with the issue's definitions."""

    def __init__(self, vintage: int):
        self.rows = {(r["pays"], r["annee"], r["trimestre"]): r for r in dataset.indicator_records(vintage=vintage)}

    def value(self, key, field):
        row = self.rows.get(key)
        return (
            None
            if row is None
            else amount(row[f"{field}_milliards_fcfa"] if f"{field}_milliards_fcfa" in row else row[field])
        )

    def prev_year(self, key, field):
        pays, annee, trimestre = key
        return self.value((pays, annee - 1, trimestre), field)

    def sum_4q(self, key, field):
        pays, annee, trimestre = key
        index = annee * 4 + trimestre - 1
        values = [self.value((pays, i // 4, i % 4 + 1), field) for i in range(index - 3, index + 1)]
        return None if any(v is None for v in values) else sum(values)

    def growth(self, key, field):
        current, previous = self.value(key, field), self.prev_year(key, field)
        change = ratio(None if previous is None else current - previous, previous)
        return measure(None if change is None else change * 100)


@pytest.fixture(scope="module")
def built(running_stack, spark, tmp_path_factory):
    """Indicators ingested (vintage 1) by the real connector, registered in bronze, then `dbt build`."""
    settings = private_lake(running_stack, spark, "dbt")
    log_dir = tmp_path_factory.mktemp("dbt-logs")
    state = ApiState(api_key=settings.get("BCEAO_API_KEY"), vintage=1, users=50, events=300)
    with start_api_server(state) as api:

        def load_and_build(*sources: str, full_refresh: bool = False):
            """Ingest and register what the API serves now, then build everything, or, as `make run` does
            after a change, only what is downstream of `sources`."""
            run_ingest(settings, api_url=api.url, out=lambda _: None)
            register(spark, settings, out=lambda _: None)
            select = ["--select", *(f"source:bceao.{source}+" for source in sources)] if sources else []
            # silver and gold are shared by the test modules: the first build starts the incremental
            # models afresh, whatever an earlier module left in them; its debug log is kept apart
            select += (
                ["--full-refresh", "--log-path", str(log_dir), "--log-level-file", "debug"] if full_refresh else []
            )
            result = run_cli(
                "dbt",
                "build",
                *select,
                "--no-use-colors",
                timeout=900,
                FORCE="1",  # straight to main, outside the audit: this module tests dbt itself
                LAKEHOUSE_LANDING_BUCKET=settings.landing_bucket,
                LAKEHOUSE_BRONZE_NAMESPACE=settings.get("BRONZE_NAMESPACE"),
            )
            assert result.returncode == 0, result.stdout[-4000:]
            return result

        # dbt keeps a snapshot's history through --full-refresh: this module's history starts with its build
        spark.sql(f"DROP TABLE IF EXISTS lakehouse.{HISTORY}")
        first = load_and_build(full_refresh=True)
        snapshots = {table: _current(spark, table) for table in (DIM, USERS)}
        yield {
            "settings": settings,
            "api": api,
            "rebuild": load_and_build,
            "first": first,
            "first_log": log_dir / "dbt.log",
            "snapshots": snapshots,
        }


def _current(spark, table: str) -> int:
    return spark.sql(f"SELECT snapshot_id FROM lakehouse.{table}.refs WHERE name = 'main'").collect()[0][0]


@pytest.fixture(scope="module")
def revised(built):
    """The API now serves the revised vintage; silver and gold rebuilt downstream of the indicators."""
    requests.post(f"{built['api'].url}/admin/state", json={"vintage": 2}, timeout=10).raise_for_status()
    built["rebuild"](STREAM)
    return built


@pytest.fixture(scope="module")
def touched(built, running_stack):
    """TOUCHED users moved to TGO with a new email, 20 more events; rebuilt downstream of both streams.
    Gives the staging's (rows, distinct event ids) before."""
    api = built["api"].url
    before = hive_query(running_stack, "SELECT count(*), count(DISTINCT event_id) FROM lakehouse.silver.stg_events")[0]
    requests.post(
        f"{api}/admin/touch-users",
        json={"count": TOUCHED, "updated_at": "2026-06-01T00:00:00Z", "pays": "TGO"},
        timeout=10,
    ).raise_for_status()
    requests.post(f"{api}/admin/append-events", json={"count": 20}, timeout=10).raise_for_status()
    built["rebuild"]("raw_users", "raw_events")
    return before


def gold(settings, table, key, columns):
    pays, annee, trimestre = key
    rows = hive_query(
        settings,
        f"SELECT {', '.join(columns)} FROM lakehouse.gold.{table} "
        f"WHERE pays = '{pays}' AND annee = {annee} AND trimestre = {trimestre}",
    )
    assert len(rows) == 1, (table, key, rows)
    return dict(zip(columns, rows[0], strict=True))


def test_dbt_build_passes_and_silver_has_one_row_per_quarter(built, running_stack):
    assert "ERROR=0" in built["first"].stdout and "PASS=" in built["first"].stdout
    assert hive_query(running_stack, "SELECT count(*) FROM lakehouse.silver.dim_uemoa_indicators") == [(480,)]
    assert hive_query(running_stack, "SELECT count(*) FROM lakehouse.silver.rejets_uemoa_indicators") == [(0,)]
    types = {row[0]: row[1] for row in hive_query(running_stack, "DESCRIBE lakehouse.silver.dim_uemoa_indicators")}
    assert types["pib_nominal"] == "decimal(18,2)" and types["date_trimestre"] == "date"


def test_each_dbt_thread_keeps_one_thrift_session_for_the_whole_build(built):
    """`lakehouse.core.dbt_sessions`: dbt opened a Thrift session for each node; now one per thread."""
    log = built["first_log"].read_text(encoding="utf-8")
    nodes = log.count("Began running node")
    opened = log.count("Opening a new connection")
    threads = int(re.search(r"Concurrency: (\d+) threads", log).group(1))
    assert nodes >= 60, nodes
    # the main thread, and each thread that listed the schemas or ran nodes
    assert 1 <= opened <= 2 * threads + 1, (opened, nodes)


@pytest.mark.parametrize("key", [("CIV", 2023, 2), ("SEN", 2024, 4), ("GNB", 2011, 1), ("BEN", 2010, 3)])
def test_gold_figures_match_an_independent_computation(built, running_stack, key):
    expected = Expected(vintage=1)
    growth = gold(
        running_stack,
        "gold_kpi_uemoa_growth_yoy",
        key,
        ["pib_reel_yoy_pct", "pib_nominal_yoy_pct", "pib_reel_annee_precedente"],
    )
    assert growth["pib_reel_yoy_pct"] == expected.growth(key, "pib_reel")
    assert growth["pib_nominal_yoy_pct"] == expected.growth(key, "pib_nominal")
    assert growth["pib_reel_annee_precedente"] == expected.prev_year(key, "pib_reel")

    stability = gold(
        running_stack,
        "gold_mart_uemoa_external_stability",
        key,
        ["ratio_endettement_pct", "couverture_importations_mois", "ouverture_commerciale_pct"],
    )
    pib_4t = expected.sum_4q(key, "pib_nominal")
    debt = expected.value(key, "dette_publique_totale")
    assert stability["ratio_endettement_pct"] == measure(None if pib_4t is None else ratio(debt, pib_4t) * 100)
    imports_4t = expected.sum_4q(key, "importations")
    cover = None if imports_4t is None else ratio(expected.value(key, "avoirs_exterieurs_nets"), imports_4t / 12)
    assert stability["couverture_importations_mois"] == measure(cover)

    finance = gold(
        running_stack, "gold_mart_uemoa_public_finance", key, ["solde_budgetaire_pib_pct", "recettes_depenses_pct"]
    )
    balance_4t = expected.sum_4q(key, "solde_budgetaire")
    assert finance["solde_budgetaire_pib_pct"] == measure(None if pib_4t is None else ratio(balance_4t, pib_4t) * 100)

    trade = gold(running_stack, "gold_mart_uemoa_external_trade", key, ["balance_commerciale", "taux_couverture_pct"])
    exports, imports = expected.value(key, "exportations"), expected.value(key, "importations")
    assert trade["balance_commerciale"] == measure(exports - imports)
    assert trade["taux_couverture_pct"] == measure(ratio(exports, imports) * 100)

    monetary = gold(
        running_stack, "gold_mart_uemoa_monetary_dashboard", key, ["taux_liquidite_pct", "masse_monetaire_m3"]
    )
    m2 = expected.value(key, "masse_monetaire_m2")
    assert monetary["taux_liquidite_pct"] == measure(None if pib_4t is None else ratio(m2, pib_4t) * 100)
    assert monetary["masse_monetaire_m3"] is None


def test_a_revised_vintage_changes_silver_and_gold_on_the_next_build(revised, running_stack):
    key = sorted(dataset.revised_keys())[0]
    pays, annee, trimestre = key
    [(published, pib)] = hive_query(
        running_stack,
        "SELECT cast(date_publication as string), pib_nominal "
        "FROM lakehouse.silver.dim_uemoa_indicators "
        f"WHERE pays = '{pays}' AND annee = {annee} AND trimestre = {trimestre}",
    )
    expected = Expected(vintage=2)
    assert published == "2025-06-30" and pib == expected.value(key, "pib_nominal")
    growth = gold(running_stack, "gold_kpi_uemoa_growth_yoy", key, ["pib_nominal_yoy_pct"])
    assert growth["pib_nominal_yoy_pct"] == expected.growth(key, "pib_nominal")
    assert hive_query(running_stack, "SELECT count(*) FROM lakehouse.silver.dim_uemoa_indicators") == [(480,)]


def test_the_history_keeps_the_first_vintage_of_each_revised_figure(revised, running_stack):
    """dbt snapshot: a revised quarter has two versions, the first vintage's closed by the build that saw the
    revision (when the second begins), the revised one current; every other quarter has one current version."""
    rows = hive_query(
        running_stack,
        "SELECT pays, annee, trimestre, pib_nominal, cast(dbt_valid_from as string), cast(dbt_valid_to as string) "
        f"FROM lakehouse.{HISTORY}",
    )
    versions: dict[tuple, list] = {}
    for pays, annee, trimestre, pib, valid_from, valid_to in rows:
        versions.setdefault((pays, annee, trimestre), []).append((valid_from, valid_to, pib))
    first, second = Expected(vintage=1), Expected(vintage=2)
    assert set(versions) == set(second.rows)
    for key, found in versions.items():
        current = [pib for _, valid_to, pib in found if valid_to is None]
        assert current == [second.value(key, "pib_nominal")], key
        if key in dataset.revised_keys():
            [(closed_from, closed_to, pib)] = [version for version in found if version[1] is not None]
            [current_from] = [valid_from for valid_from, valid_to, _ in found if valid_to is None]
            assert pib == first.value(key, "pib_nominal") and closed_from < closed_to == current_from, key
        else:
            assert len(found) == 1, key


def test_union_aggregates_and_convergence_match_an_independent_computation(built, running_stack):
    expected = Expected(vintage=2 if _revised_already(running_stack) else 1)
    annee, trimestre = 2023, 2
    keys = [(pays, annee, trimestre) for pays in dataset.COUNTRIES]
    [row] = hive_query(
        running_stack,
        "SELECT nombre_pays, pib_nominal, taux_inflation_pct, pib_reel_yoy_pct "
        f"FROM lakehouse.gold.gold_mart_uemoa_union_aggregates WHERE annee = {annee} AND trimestre = {trimestre}",
    )
    pib = sum(expected.value(k, "pib_nominal") for k in keys)
    inflation = sum(expected.value(k, "taux_inflation_pct") * expected.value(k, "pib_nominal") for k in keys) / pib
    real = sum(expected.value(k, "pib_reel") for k in keys)
    real_before = sum(expected.value((p, annee - 1, trimestre), "pib_reel") for p, _, _ in keys)
    assert row == (8, measure(pib), measure(inflation), measure((real - real_before) / real_before * 100))
    quarters = hive_query(running_stack, "SELECT count(*) FROM lakehouse.gold.gold_mart_uemoa_union_aggregates")
    assert quarters == [(60,)]

    for pays in ("CIV", "NER"):
        year = [(pays, annee, q) for q in (1, 2, 3, 4)]
        pib_year = sum(expected.value(k, "pib_nominal") for k in year)
        balance = measure(sum(expected.value(k, "solde_budgetaire") for k in year) / pib_year * 100)
        inflation = measure(sum(expected.value(k, "taux_inflation_pct") for k in year) / 4)
        debt = measure(expected.value(year[-1], "dette_publique_totale") / pib_year * 100)
        [row] = hive_query(
            running_stack,
            "SELECT solde_budgetaire_pib_pct, critere_solde_respecte, inflation_moyenne_pct, "
            "critere_inflation_respecte, dette_pib_pct, critere_dette_respecte, nombre_criteres_respectes "
            f"FROM lakehouse.gold.gold_mart_uemoa_convergence WHERE pays = '{pays}' AND annee = {annee}",
        )
        flags = (balance >= -3, inflation <= 3, debt <= 70)
        assert row == (balance, flags[0], inflation, flags[1], debt, flags[2], sum(flags))


def expected_events_enriched(events: int, users: int, moved: dict[str, str]) -> dict:
    """fct_events_enriched recomputed in Python from the dataset: event_id -> (pays, account age in days,
    events in session, session duration in seconds, rank in session). `moved`: user_id -> new country."""
    records = [dataset.event_record(i, users=users) for i in range(events)]
    seconds = {r["event_id"]: int(parse_time(r["occurred_at"])) for r in records}
    sessions: dict[str, list[str]] = {}
    for record in records:
        sessions.setdefault(record["session_id"], []).append(record["event_id"])
    expected = {}
    for record in records:
        user = dataset.user_record(int(record["user_id"][1:]))
        members = sorted(sessions[record["session_id"]], key=lambda e: (seconds[e], e))
        span = [seconds[e] for e in members]
        expected[record["event_id"]] = (
            moved.get(record["user_id"], user["pays"]),
            (seconds[record["event_id"]] - int(parse_time(user["created_at"]))) // 86400,
            len(members),
            max(span) - min(span),
            members.index(record["event_id"]) + 1,
        )
    return expected


def events_enriched(settings) -> dict:
    rows = hive_query(
        settings,
        "SELECT event_id, pays_utilisateur, anciennete_compte_jours, evenements_session, "
        "duree_session_secondes, rang_dans_session FROM lakehouse.gold.fct_events_enriched",
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def test_events_enriched_match_an_independent_computation(built, running_stack):
    built_rows = events_enriched(running_stack)
    assert len(built_rows) == 300
    assert built_rows == expected_events_enriched(300, 50, moved={})


def _revised_already(settings) -> bool:
    return hive_query(
        settings, "SELECT count(*) FROM lakehouse.silver.dim_uemoa_indicators WHERE date_publication = date'2025-06-30'"
    ) != [(0,)]


def test_staging_keeps_the_latest_user_and_each_event_once_incrementally(touched, running_stack):
    before = touched
    moved = {f"u{i:07d}": "TGO" for i in range(TOUCHED)}
    users = dict(hive_query(running_stack, "SELECT user_id, email FROM lakehouse.silver.stg_users"))
    assert len(users) == 50
    assert all(users[f"u{i:07d}"].startswith("new.") for i in range(TOUCHED))
    assert not users["u0000003"].startswith("new.")
    after = hive_query(running_stack, "SELECT count(*), count(DISTINCT event_id) FROM lakehouse.silver.stg_events")[0]
    assert after[0] == after[1] == before[0] + 20
    # The 20 new events complete session 37 (events 296-303): its 4 older rows are rebuilt with 8 events;
    # events of the 3 users who moved to TGO carry the new country (u0000002 has events built before the move).
    assert dataset.user_record(2)["pays"] != "TGO"
    assert any(dataset.event_record(i, users=50)["user_id"] == "u0000002" for i in range(300))
    assert events_enriched(running_stack) == expected_events_enriched(320, 50, moved)


def test_source_freshness_warns_and_errors_past_the_thresholds(running_stack, spark):
    """Indicators 200 days old (past warn, before error), users 10 days old (past error), events fresh."""
    namespace = f"bronze_fresh_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE NAMESPACE lakehouse.{namespace}")
    for table, age_days in {"indicateurs_economiques_uemoa": 200, "raw_users": 10, "raw_events": 0}.items():
        spark.sql(f"CREATE TABLE lakehouse.{namespace}.{table} (_airbyte_extracted_at timestamp) USING iceberg")
        spark.sql(f"INSERT INTO lakehouse.{namespace}.{table} VALUES (current_timestamp() - INTERVAL {age_days} DAYS)")
    result = run_cli("dbt", "source", "freshness", "--no-use-colors", LAKEHOUSE_BRONZE_NAMESPACE=namespace)
    assert result.returncode != 0, result.stdout[-3000:]
    statuses = {
        r["unique_id"].rsplit(".", 1)[1]: r["status"]
        for r in json.loads((dbt_target_dir() / "sources.json").read_text())["results"]
    }
    assert statuses == {"indicateurs_economiques_uemoa": "warn", "raw_users": "error", "raw_events": "pass"}


def test_docs_catalog_describes_every_iceberg_table(built):
    """`dbt docs generate` on Iceberg v2 tables: the catalog holds every built model and source, with columns."""
    result = run_cli(
        "dbt",
        "docs",
        "generate",
        "--static",
        "--no-use-colors",
        LAKEHOUSE_LANDING_BUCKET=built["settings"].landing_bucket,
        LAKEHOUSE_BRONZE_NAMESPACE=built["settings"].get("BRONZE_NAMESPACE"),
    )
    assert result.returncode == 0, result.stdout[-3000:]
    catalog = json.loads((dbt_target_dir() / "catalog.json").read_text())
    manifest = json.loads((dbt_target_dir() / "manifest.json").read_text())
    built_nodes = {
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] in ("model", "seed", "snapshot") and node["config"]["materialized"] != "ephemeral"
    }
    assert set(catalog["nodes"]) == built_nodes
    assert set(catalog["sources"]) == set(manifest["sources"])
    documented = manifest["nodes"]["model.uemoa_lakehouse.fct_events_enriched"]["columns"]
    assert set(catalog["nodes"]["model.uemoa_lakehouse.fct_events_enriched"]["columns"]) == set(documented)
    assert (dbt_target_dir() / "static_index.html").stat().st_size > 100_000


def test_model_and_column_descriptions_are_iceberg_comments(built, running_stack):
    """persist_docs (marts): the dbt descriptions are the tables' and columns' Iceberg comments, as pyiceberg,
    DuckDB and notebooks read them; the staging model is an Iceberg view over bronze."""
    manifest = json.loads((dbt_target_dir() / "manifest.json").read_text())
    node = manifest["nodes"]["model.uemoa_lakehouse.dim_uemoa_indicators"]
    table = iceberg_catalog(built["settings"]).load_table("silver.dim_uemoa_indicators")
    assert table.properties.get("comment", "").strip() == node["description"].strip()
    for name, column in node["columns"].items():
        if column["description"]:
            assert (table.schema().find_field(name).doc or "").strip() == column["description"].strip(), name
    assert ("silver", "stg_indicators", False) in hive_query(running_stack, "SHOW VIEWS IN lakehouse.silver")
    bronze = f"lakehouse.{built['settings'].get('BRONZE_NAMESPACE')}.indicateurs_economiques_uemoa"
    landed = hive_query(running_stack, f"SELECT count(*) FROM {bronze}")
    assert hive_query(running_stack, "SELECT count(*) FROM lakehouse.silver.stg_indicators") == landed


# `make changes` on the same lake: what the revised vintage and the touched users changed since the first build.


def test_a_revised_vintage_appears_as_updates_with_pre_and_post_images(revised, touched, spark):
    settings, first = revised["settings"], revised["snapshots"]
    feed = read_changes(spark, settings, DIM, str(first[DIM]))
    assert feed.key == ("pays", "annee", "trimestre")
    updates = [c for c in feed.changes if c.kind == "update"]
    assert {(c.key["pays"], c.key["annee"], c.key["trimestre"]) for c in updates} == dataset.revised_keys()
    assert feed.count("insert") == feed.count("delete") == 0
    before = {
        (r.pays, r.annee, r.trimestre): r.asDict()
        for r in spark.sql(f"SELECT * FROM lakehouse.{DIM} VERSION AS OF {first[DIM]}").collect()
    }
    now = {(r.pays, r.annee, r.trimestre): r.asDict() for r in spark.sql(f"SELECT * FROM lakehouse.{DIM}").collect()}
    for change in updates:
        key = (change.key["pays"], change.key["annee"], change.key["trimestre"])
        assert change.before == before[key] and change.after == now[key]
        assert change.changed_columns()  # at least one figure moved


def test_updated_users_appear_with_their_old_and_new_email(revised, touched, spark):
    settings, first = revised["settings"], revised["snapshots"]
    feed = read_changes(spark, settings, USERS, str(first[USERS]))
    assert (feed.count("update"), feed.count("insert"), feed.count("delete")) == (TOUCHED, 0, 0)
    for change in feed.changes:
        email_before, email_after = change.changed_columns()["email"]
        assert email_after == "new." + email_before
    # from the current snapshot: nothing changed since
    assert read_changes(spark, settings, USERS, str(_current(spark, USERS))).changes == []


def test_make_changes_prints_them_and_refuses_a_bad_start_in_french(revised, touched, spark):
    settings, first = revised["settings"], revised["snapshots"]
    shown = run_cli("changes", "--table", DIM, "--from", str(first[DIM]), "--limit", "3")
    assert shown.returncode == 0, shown.stderr
    assert f"{len(dataset.revised_keys())} mise(s) à jour" in shown.stdout and " → " in shown.stdout
    assert_french_numbers(shown.stdout)  # « 1 234,50 → 1 240,00 »
    assert "autre(s) (LIMIT=" in shown.stdout
    garbage = run_cli("changes", "--table", DIM, "--from", "hier")
    assert garbage.returncode == 1 and "ni un identifiant de snapshot" in garbage.stderr
    with pytest.raises(ChangeFeedError, match="n'a pas ou plus ce snapshot"):
        read_changes(spark, settings, DIM, "1234567")
    wrong_table = run_cli("changes", "--table", "silver.nope", "--from", str(first[DIM]))
    assert wrong_table.returncode == 1 and "table inconnue : silver.nope" in wrong_table.stderr
    assert "WARN" not in wrong_table.stderr + wrong_table.stdout  # refused before Spark starts


def test_an_identical_rebuild_shows_no_change_and_every_listed_snapshot_is_accepted(revised, touched, spark):
    settings, first = revised["settings"], revised["snapshots"]
    before_rebuild = _current(spark, DIM)
    time.sleep(1.2)
    moment = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    time.sleep(1.2)
    spark.sql(f"CREATE OR REPLACE TABLE lakehouse.{DIM} USING iceberg AS SELECT * FROM lakehouse.{DIM}")  # as dbt does
    assert _current(spark, DIM) != before_rebuild
    assert read_changes(spark, settings, DIM, str(before_rebuild)).changes == []
    assert read_changes(spark, settings, DIM, moment).changes == []
    # the first build's state is no longer an ancestor of main (the table was replaced): still a FROM
    assert read_changes(spark, settings, DIM, str(first[DIM])).count("update") == len(dataset.revised_keys())
    listed = history(spark, DIM)
    assert first[DIM] in {s.snapshot_id for s in listed} and len(listed) >= 3
    for state in listed:
        read_changes(spark, settings, DIM, str(state.snapshot_id))  # none refused
    with pytest.raises(ChangeFeedError, match=f"est un snapshot de {USERS}, pas de {DIM}"):
        read_changes(spark, settings, DIM, str(first[USERS]))
