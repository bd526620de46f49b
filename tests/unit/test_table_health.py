"""`make table-health`'s decisions, without Spark: what maintain would do to a table, and which snapshots expire."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from lakehouse.core.maintenance_policy import load_policy
from lakehouse.core.settings import PROJECT_ROOT
from lakehouse_spark.table_health import count_expirable, planned_actions
from lakehouse_spark.table_stats import TableStats, human_bytes

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = replace(
    load_policy(PROJECT_ROOT / "conf" / "maintenance.toml").for_table("bronze.raw_events"),
    min_input_files=5,
    retain_last=3,
    snapshot_max_age_hours=24,
    rewrite_manifests=True,
)


def stats(**values) -> TableStats:
    base = dict(
        identifier="bronze.raw_events",
        snapshots=1,
        data_files=1,
        data_bytes=1024,
        records=10,
        small_files=0,
        compaction_candidates=0,
        delete_files=0,
        manifests=1,
        oldest_snapshot_at=NOW,
        current_snapshot_id=1,
    )
    return TableStats(**{**base, **values})


def test_a_tidy_table_needs_nothing():
    assert planned_actions(stats(), POLICY, expirable=0, orphans=0) == ["rien"]


def test_compaction_is_planned_only_from_the_policy_minimum_of_small_files():
    assert planned_actions(stats(compaction_candidates=4), POLICY, 0, 0) == ["rien"]
    [action] = planned_actions(stats(compaction_candidates=5), POLICY, 0, 0)
    assert action.startswith("compacter 5 fichiers") and f"cible {POLICY.target_file_size_mb} Mo" in action


def test_manifests_expiry_and_orphans_are_each_planned():
    actions = planned_actions(stats(manifests=4), POLICY, expirable=2, orphans=3)
    assert actions == [
        "réécrire 4 manifestes",
        "expirer 2 snapshots",
        "3 fichiers orphelins à supprimer (avec APPLY=1)",
    ]
    assert planned_actions(stats(manifests=4), replace(POLICY, rewrite_manifests=False), 0, 0) == ["rien"]


def test_expiry_keeps_the_newest_snapshots_and_those_younger_than_the_policy():
    hours = [1, 2, 30, 40, 50, 60]  # ages of six snapshots
    committed = [NOW - timedelta(hours=h) for h in hours]
    assert count_expirable(committed, POLICY, NOW) == 3  # the 3 newest are kept; 40, 50, 60 h are past 24 h
    assert count_expirable(committed, replace(POLICY, retain_last=5), NOW) == 1
    assert count_expirable(committed, replace(POLICY, snapshot_max_age_hours=55), NOW) == 1
    assert count_expirable(committed[:3], POLICY, NOW) == 0


def test_sizes_are_printed_in_french_units():
    assert [human_bytes(n) for n in (512, 2048, 5 * 1024**2, 3 * 1024**3)] == ["512 o", "2,0 Ko", "5,0 Mo", "3,0 Go"]
    assert stats(data_files=4, data_bytes=4096).average_file_bytes == 1024
