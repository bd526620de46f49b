"""Synthetic BCEAO dataset: determinism, schema, calibration, vintages, web analytics."""

from __future__ import annotations

import itertools
from collections import defaultdict

import pytest

from lakehouse_dev import dataset
from lakehouse_dev.dataset import (
    COUNTRIES,
    DEFAULT_SEED,
    INDICATOR_FIELDS,
    VINTAGES,
    event_record,
    indicator_records,
    revised_keys,
    user_record,
)

GDP_2023 = {
    "CIV": 47000,
    "SEN": 18700,
    "BFA": 12400,
    "MLI": 12600,
    "BEN": 11900,
    "NER": 10400,
    "TGO": 5600,
    "GNB": 1200,
}


def _key(row: dict) -> tuple[str, int, int]:
    return row["pays"], row["annee"], row["trimestre"]


def _index(event: dict) -> int:
    return int(event["event_id"][1:])


def _by_country_year(rows: list[dict], field: str) -> dict[tuple[str, int], list[float]]:
    values = defaultdict(list)
    for row in rows:
        values[row["pays"], row["annee"]].append(row[field])
    return values


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return indicator_records(vintage=1)


@pytest.fixture(scope="module")
def annual_gdp(rows) -> dict[tuple[str, int], float]:
    return {key: sum(values) for key, values in _by_country_year(rows, "pib_nominal_milliards_fcfa").items()}


def test_same_seed_same_output_other_seed_differs():
    assert indicator_records(seed=7) == indicator_records(seed=7)
    assert indicator_records(seed=7) != indicator_records(seed=8)
    assert [user_record(i, seed=7) for i in range(50)] == [user_record(i, seed=7) for i in range(50)]
    assert [user_record(i, seed=7) for i in range(50)] != [user_record(i, seed=8) for i in range(50)]
    assert [event_record(i, seed=7) for i in range(50)] == [event_record(i, seed=7) for i in range(50)]
    assert [event_record(i, seed=7) for i in range(50)] != [event_record(i, seed=8) for i in range(50)]


def test_one_record_per_country_and_quarter_with_exact_fields(rows):
    assert len(rows) == 8 * 60
    assert len({_key(row) for row in rows}) == len(rows)
    assert {row["pays"] for row in rows} == set(COUNTRIES)
    assert {(row["annee"], row["trimestre"]) for row in rows} == {
        (y, q) for y in range(2010, 2025) for q in (1, 2, 3, 4)
    }
    assert all(tuple(row) == INDICATOR_FIELDS for row in rows)
    assert rows == sorted(rows, key=_key)
    assert {row["date_publication"] for row in rows} == {VINTAGES[0]}


def test_amounts_are_rounded_floats_and_m3_is_never_published(rows):
    for row in rows:
        assert row["masse_monetaire_m3_milliards_fcfa"] is None
        for name in INDICATOR_FIELDS[3:-1]:
            if name != "masse_monetaire_m3_milliards_fcfa":
                assert isinstance(row[name], float) and round(row[name], 2) == row[name], (name, row[name])


def test_budget_balance_is_revenue_minus_spending():
    for row in indicator_records():
        expected = row["recettes_budgetaires_milliards_fcfa"] - row["depenses_budgetaires_milliards_fcfa"]
        assert row["solde_budgetaire_milliards_fcfa"] == pytest.approx(expected, abs=0.01)


def test_2023_gdp_matches_the_calibration(annual_gdp):
    for pays, target in GDP_2023.items():
        assert annual_gdp[pays, 2023] == pytest.approx(target, rel=0.10), pays


def test_stocks_are_plausible_shares_of_annual_gdp(rows, annual_gdp):
    for row in rows:
        gdp = annual_gdp[row["pays"], row["annee"]]
        assert 0.45 <= row["dette_publique_totale_milliards_fcfa"] / gdp <= 0.85, _key(row)
        assert 0.20 <= row["masse_monetaire_m2_milliards_fcfa"] / gdp <= 0.50, _key(row)
        assert 0.10 <= row["credits_economie_milliards_fcfa"] / gdp <= 0.40, _key(row)
        assert 0 < row["masse_monetaire_m1_milliards_fcfa"] < row["masse_monetaire_m2_milliards_fcfa"]
        assert row["avoirs_exterieurs_nets_milliards_fcfa"] > 0
        assert 0 < row["service_dette_milliards_fcfa"] < 0.1 * row["pib_nominal_milliards_fcfa"]


def test_real_gdp_below_nominal_after_the_base_year(rows):
    for row in rows:
        if row["annee"] > dataset.BASE_YEAR:
            assert row["pib_reel_milliards_fcfa"] < row["pib_nominal_milliards_fcfa"], _key(row)


def test_inflation_spikes_in_2022_and_growth_dips_in_2020(rows):
    inflation = _by_country_year(rows, "taux_inflation_pct")
    real = {key: sum(values) for key, values in _by_country_year(rows, "pib_reel_milliards_fcfa").items()}
    for pays in COUNTRIES:
        mean = {year: sum(inflation[pays, year]) / 4 for year in range(2010, 2025)}
        assert mean[2022] > max(value for year, value in mean.items() if year != 2022), pays
        growth = {year: real[pays, year] / real[pays, year - 1] - 1 for year in range(2011, 2025)}
        assert growth[2020] < growth[2019], pays
        assert sum(0.02 <= g <= 0.08 for g in growth.values()) >= 10, pays


def test_most_countries_import_more_than_they_export(annual_gdp, rows):
    trade = defaultdict(lambda: [0.0, 0.0])
    for row in rows:
        trade[row["pays"]][0] += row["exportations_milliards_fcfa"]
        trade[row["pays"]][1] += row["importations_milliards_fcfa"]
    assert sum(imports > exports for exports, imports in trade.values()) >= 6
    exports, imports = trade["CIV"]
    assert exports == pytest.approx(imports, rel=0.15)


def test_second_vintage_revises_only_its_keys():
    first = {_key(row): row for row in indicator_records(vintage=1)}
    second = {_key(row): row for row in indicator_records(vintage=2)}
    assert indicator_records() == list(second.values())
    revised = revised_keys()
    assert revised and revised <= set(first)
    assert {key for key in first if first[key] != second[key]} == revised
    for key in revised:
        old, new = first[key], second[key]
        assert new["date_publication"] == "2025-06-30"
        changed = [name for name in INDICATOR_FIELDS[3:-1] if old[name] != new[name]]
        assert changed
        for name in changed:
            if name != "solde_budgetaire_milliards_fcfa":
                assert 0.004 <= abs(new[name] / old[name] - 1) <= 0.031, (key, name)
    assert {row["date_publication"] for key, row in second.items() if key not in revised} == {"2025-03-31"}
    assert indicator_records(vintage=0) == []
    with pytest.raises(ValueError):
        indicator_records(vintage=3)


def test_users_have_the_expected_fields():
    users = [user_record(i) for i in range(2000)]
    assert users[42]["user_id"] == "u0000042"
    assert len({user["email"] for user in users}) == len(users)
    updated_later = 0
    for user in users:
        assert set(user) == {"user_id", "email", "pays", "created_at", "updated_at"}
        assert user["email"] == user["email"].lower() and user["email"].isascii() and "@" in user["email"]
        assert user["pays"] in COUNTRIES
        assert "2023-01-01T00:00:00Z" <= user["created_at"] <= "2024-12-31T23:59:59Z"
        assert len(user["updated_at"]) == 20 and user["updated_at"].endswith("Z")
        assert user["updated_at"] >= user["created_at"]
        updated_later += user["updated_at"] > user["created_at"]
    assert 0.15 <= updated_later / len(users) <= 0.25
    updated = [user["updated_at"] for user in users]
    assert updated != sorted(updated), "the API sorts; the index order is not the time order"


def test_events_reference_users_and_occur_in_index_order():
    events = [event_record(i, users=50) for i in range(3000)]
    assert events[0]["event_id"] == "e0000000000"
    assert events[-1]["event_id"] == "e0000002999"
    assert all(later["occurred_at"] > earlier["occurred_at"] for earlier, later in itertools.pairwise(events))
    for event in events:
        assert set(event) == {"event_id", "user_id", "session_id", "event_type", "page", "occurred_at"}
        assert "u0000000" <= event["user_id"] <= "u0000049"
        assert event["event_type"] in dataset.EVENT_TYPES
        assert event["page"].startswith("/")
        assert event["occurred_at"] == dataset.iso_utc(dataset.event_seconds(_index(event)))
    sessions = defaultdict(set)
    for event in events:
        sessions[event["session_id"]].add(event["user_id"])
    assert all(len(users) == 1 for users in sessions.values())
    assert len(sessions) == 3000 // dataset.EVENTS_PER_SESSION
    assert {event["event_type"] for event in events} == set(dataset.EVENT_TYPES)
    assert event_record(999_999)["occurred_at"].startswith("2025-03-")  # computed, not enumerated


def test_default_seed_is_2024():
    assert DEFAULT_SEED == 2024
    assert indicator_records() == indicator_records(seed=2024)
