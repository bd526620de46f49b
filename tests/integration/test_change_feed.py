"""`make changes`: what silver gained, lost or changed, on the real test stack.

The lake is built as a user's would be: the first vintage landed, registered and built (dbt, audited);
then the daily run brings the revised vintage and three users who changed their email. The change feed
from the first build's snapshot must show exactly that: the revised quarters of `dim_uemoa_indicators`
as updates (pre-image = first vintage, post-image = revised values), and the three users of `stg_users`
as updates from their old email to the new one. Then the table is rebuilt identically, as dbt does
(`CREATE OR REPLACE`): 0 changes since the state before, and every snapshot `make snapshots` lists is
still accepted as FROM.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from lakehouse import pipeline
from lakehouse_dev.api_server import ApiState, start_api_server
from lakehouse_dev.dataset import iso_utc, revised_keys
from lakehouse_spark.change_feed import ChangeFeedError, read_changes
from lakehouse_spark.recovery import history
from tests.cli_runner import run_cli
from tests.french import assert_french_numbers
from tests.private_lake import private_lake

pytestmark = pytest.mark.integration

STEPS = [step for step in pipeline.STEPS if step.name in ("ingest", "register", "dbt-build")]
DIM, USERS = "silver.dim_uemoa_indicators", "silver.stg_users"
TOUCHED = 3


@pytest.fixture(scope="module")
def two_builds(running_stack, spark):
    """(settings, {table: its snapshot after the first build}); the second build brings the revised
    vintage and TOUCHED users with a new email, from the API as a real BCEAO server would serve them."""
    lake = private_lake(running_stack, spark, "changes")
    pipeline.run_pipeline(lake.with_values(LAKEHOUSE_STANDIN_VINTAGE="1"), STEPS, out=lambda _: None)
    first = {t: _current(spark, t) for t in (DIM, USERS)}
    state = ApiState(
        api_key=lake.get("BCEAO_API_KEY"),
        vintage=2,
        users=lake.get_int("STANDIN_USERS"),
        events=lake.get_int("STANDIN_EVENTS"),
    )
    state.touch_users(TOUCHED, iso_utc(int(time.time()) - 60))
    with start_api_server(state, port=lake.get_int("BCEAO_API_PORT")) as server:
        daily = lake.with_values(LAKEHOUSE_BCEAO_API_URL=server.url)
        pipeline.run_pipeline(daily, STEPS, out=lambda _: None)
    return daily, first


def _current(spark, table: str) -> int:
    return spark.sql(f"SELECT snapshot_id FROM lakehouse.{table}.refs WHERE name = 'main'").collect()[0][0]


def test_a_revised_vintage_appears_as_updates_with_pre_and_post_images(two_builds, spark):
    settings, first = two_builds
    feed = read_changes(spark, settings, DIM, str(first[DIM]))
    assert feed.key == ("pays", "annee", "trimestre")
    updates = [c for c in feed.changes if c.kind == "update"]
    assert {(c.key["pays"], c.key["annee"], c.key["trimestre"]) for c in updates} == revised_keys()
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


def test_updated_users_appear_with_their_old_and_new_email(two_builds, spark):
    settings, first = two_builds
    feed = read_changes(spark, settings, USERS, str(first[USERS]))
    assert (feed.count("update"), feed.count("insert"), feed.count("delete")) == (TOUCHED, 0, 0)
    for change in feed.changes:
        email_before, email_after = change.changed_columns()["email"]
        assert email_after == "new." + email_before
    # from the current snapshot: nothing changed since
    assert read_changes(spark, settings, USERS, str(_current(spark, USERS))).changes == []


def test_make_changes_prints_them_and_refuses_a_bad_start_in_french(two_builds, spark):
    settings, first = two_builds
    shown = run_cli("changes", "--table", DIM, "--from", str(first[DIM]), "--limit", "3")
    assert shown.returncode == 0, shown.stderr
    assert f"{len(revised_keys())} mise(s) à jour" in shown.stdout and " → " in shown.stdout
    assert_french_numbers(shown.stdout)  # « 1 234,50 → 1 240,00 »
    assert "autre(s) (LIMIT=" in shown.stdout
    garbage = run_cli("changes", "--table", DIM, "--from", "hier")
    assert garbage.returncode == 1 and "ni un identifiant de snapshot" in garbage.stderr
    with pytest.raises(ChangeFeedError, match="n'a pas ou plus ce snapshot"):
        read_changes(spark, settings, DIM, "1234567")
    wrong_table = run_cli("changes", "--table", "silver.nope", "--from", str(first[DIM]))
    assert wrong_table.returncode == 1 and "table inconnue : silver.nope" in wrong_table.stderr
    assert "WARN" not in wrong_table.stderr + wrong_table.stdout  # refused before Spark starts


def test_an_identical_rebuild_shows_no_change_and_every_listed_snapshot_is_accepted(two_builds, spark):
    settings, first = two_builds
    before_rebuild = _current(spark, DIM)
    time.sleep(1.2)
    moment = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    time.sleep(1.2)
    spark.sql(f"CREATE OR REPLACE TABLE lakehouse.{DIM} USING iceberg AS SELECT * FROM lakehouse.{DIM}")  # as dbt does
    assert _current(spark, DIM) != before_rebuild
    assert read_changes(spark, settings, DIM, str(before_rebuild)).changes == []
    assert read_changes(spark, settings, DIM, moment).changes == []
    # the first build's state is no longer an ancestor of main (the table was replaced): still a FROM
    assert read_changes(spark, settings, DIM, str(first[DIM])).count("update") == len(revised_keys())
    listed = history(spark, DIM)
    assert first[DIM] in {s.snapshot_id for s in listed} and len(listed) >= 3
    for state in listed:
        read_changes(spark, settings, DIM, str(state.snapshot_id))  # none refused
    with pytest.raises(ChangeFeedError, match=f"est un snapshot de {USERS}, pas de {DIM}"):
        read_changes(spark, settings, DIM, str(first[USERS]))
