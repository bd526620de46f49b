"""SYNTHETIC, deterministic stand-in for the BCEAO's published series (no real figure here).

The live BCEAO API is unreachable from this project, so the ingestion is built and
tested against this generated dataset. Nothing below is an official statistic: the
series are drawn from a seeded `random.Random`, with orders of magnitude calibrated on
the BCEAO annual reports and the IMF World Economic Outlook (2023 nominal GDP of each
member state, public debt around 50-80 % of GDP, real growth mostly 2-8 % with a 2020
dip, inflation mostly 0-4 % with the 2022 spike, money and credit as shares of GDP).
The calibration is deliberately rough; only the shapes and the units are meant to be
realistic.

Contents:

* quarterly indicators of the 8 UEMOA member states, 2010Q1-2024Q4, in billions of
  FCFA (flows per quarter, stocks at end of quarter), with two publication vintages:
  the second one revises 2024Q3 and 2024Q4 of a few countries;
* web analytics of the portal publishing the figures (users, events), computed record
  by record from the index and the seed, so millions of them never sit in memory.

Same seed, same output: no global random state, no clock.
"""

from __future__ import annotations

import hashlib
import random
import time
from functools import lru_cache

DEFAULT_SEED = 2024
COUNTRIES = ("BEN", "BFA", "CIV", "GNB", "MLI", "NER", "SEN", "TGO")
FIRST_YEAR = 2010
LAST_YEAR = 2024
BASE_YEAR = 2015  # real GDP in constant 2015 prices
VINTAGES = ("2025-03-31", "2025-06-30")
REVISED_COUNTRIES = ("BEN", "CIV", "NER", "SEN")
REVISED_QUARTERS = ((2024, 3), (2024, 4))

INDICATOR_FIELDS = (
    "pays",
    "annee",
    "trimestre",
    "pib_nominal_milliards_fcfa",
    "pib_reel_milliards_fcfa",
    "taux_inflation_pct",
    "recettes_budgetaires_milliards_fcfa",
    "depenses_budgetaires_milliards_fcfa",
    "solde_budgetaire_milliards_fcfa",
    "dette_publique_totale_milliards_fcfa",
    "service_dette_milliards_fcfa",
    "exportations_milliards_fcfa",
    "importations_milliards_fcfa",
    "avoirs_exterieurs_nets_milliards_fcfa",
    "masse_monetaire_m1_milliards_fcfa",
    "masse_monetaire_m2_milliards_fcfa",
    "masse_monetaire_m3_milliards_fcfa",
    "credits_economie_milliards_fcfa",
    "date_publication",
)

# Per country: 2023 annual nominal GDP, trend real growth (%), then shares of GDP:
# exports and imports (of quarterly GDP), budget revenue, public debt in 2010 and 2024,
# M2, credit to the economy, net foreign assets (of annual GDP).
_PROFILES = {
    "BEN": (11900, 6.0, 0.14, 0.22, 0.14, 0.50, 0.55, 0.33, 0.19, 0.10),
    "BFA": (12400, 5.0, 0.26, 0.28, 0.18, 0.51, 0.60, 0.40, 0.27, 0.08),
    "CIV": (47000, 7.0, 0.24, 0.23, 0.15, 0.52, 0.58, 0.31, 0.23, 0.09),
    "GNB": (1200, 4.0, 0.15, 0.25, 0.13, 0.62, 0.78, 0.38, 0.17, 0.12),
    "MLI": (12600, 4.5, 0.22, 0.28, 0.17, 0.50, 0.54, 0.30, 0.26, 0.07),
    "NER": (10400, 5.5, 0.10, 0.22, 0.11, 0.51, 0.53, 0.26, 0.16, 0.11),
    "SEN": (18700, 5.0, 0.20, 0.32, 0.19, 0.53, 0.77, 0.42, 0.30, 0.06),
    "TGO": (5600, 5.5, 0.22, 0.33, 0.16, 0.56, 0.68, 0.43, 0.32, 0.08),
}
_SEASONALITY = (0.97, 0.99, 1.00, 1.04)  # mild: harvest and year-end spending in Q4
_YEARS = range(FIRST_YEAR, LAST_YEAR + 1)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _country_rows(pays: str, seed: int) -> list[dict]:
    """The 60 first-vintage records of one country."""
    gdp_2023, trend, exp_share, imp_share, rev_share, debt_0, debt_1, m2_share, credit_share, aen_share = _PROFILES[
        pays
    ]
    rng = random.Random(f"indicators:{seed}:{pays}")

    inflation = {}  # annual, % (also the GDP deflator's growth)
    growth = {}  # annual real growth, %
    for year in _YEARS:
        if year == 2022:
            inflation[year] = rng.uniform(5.5, 8.5)
        elif year == 2023:
            inflation[year] = rng.uniform(2.2, 3.8)
        else:
            inflation[year] = rng.uniform(0.4, 3.2)
        if year == 2020:
            growth[year] = trend - rng.uniform(3.5, 6.0)
        elif year == 2021:
            growth[year] = trend + rng.uniform(0.0, 1.5)
        else:
            growth[year] = trend + rng.uniform(-1.0, 1.0)

    deflator = {BASE_YEAR: 1.0}
    for year in range(BASE_YEAR + 1, LAST_YEAR + 1):
        deflator[year] = deflator[year - 1] * (1 + inflation[year] / 100)
    for year in range(BASE_YEAR - 1, FIRST_YEAR - 1, -1):
        deflator[year] = deflator[year + 1] / (1 + inflation[year + 1] / 100)

    real = {2023: gdp_2023 * rng.uniform(0.98, 1.02) / deflator[2023]}  # annual, constant prices
    for year in range(2024, LAST_YEAR + 1):
        real[year] = real[year - 1] * (1 + growth[year] / 100)
    for year in range(2022, FIRST_YEAR - 1, -1):
        real[year] = real[year + 1] / (1 + growth[year + 1] / 100)

    season = [s * rng.uniform(0.99, 1.01) for s in _SEASONALITY]
    deficit = rng.uniform(0.02, 0.04)
    rows = []
    for year in _YEARS:
        weights = [s * rng.uniform(0.995, 1.005) for s in season]
        weights = [w / sum(weights) for w in weights]
        annual_nominal = real[year] * deflator[year]
        year_deficit = deficit + (0.025 if year == 2020 else 0.0) + rng.uniform(-0.005, 0.005)
        for quarter, weight in enumerate(weights, start=1):
            nominal = annual_nominal * weight
            elapsed = (year - FIRST_YEAR + quarter / 4) / (LAST_YEAR - FIRST_YEAR + 1)
            debt_ratio = _clamp(debt_0 + (debt_1 - debt_0) * elapsed + rng.uniform(-0.01, 0.01), 0.50, 0.80)
            m2_ratio = _clamp(m2_share * (0.93 + 0.1 * elapsed) * rng.uniform(0.98, 1.02), 0.25, 0.45)
            m2 = annual_nominal * m2_ratio
            revenue = round(nominal * rev_share * rng.uniform(0.97, 1.03), 2)
            spending = round(nominal * (rev_share + year_deficit) * rng.uniform(0.97, 1.03), 2)
            rows.append(
                {
                    "pays": pays,
                    "annee": year,
                    "trimestre": quarter,
                    "pib_nominal_milliards_fcfa": round(nominal, 2),
                    "pib_reel_milliards_fcfa": round(real[year] * weight, 2),
                    "taux_inflation_pct": round(inflation[year] + rng.uniform(-0.5, 0.5), 2),
                    "recettes_budgetaires_milliards_fcfa": revenue,
                    "depenses_budgetaires_milliards_fcfa": spending,
                    "solde_budgetaire_milliards_fcfa": round(revenue - spending, 2),
                    "dette_publique_totale_milliards_fcfa": round(annual_nominal * debt_ratio, 2),
                    "service_dette_milliards_fcfa": round(nominal * rng.uniform(0.03, 0.06), 2),
                    "exportations_milliards_fcfa": round(nominal * exp_share * rng.uniform(0.95, 1.05), 2),
                    "importations_milliards_fcfa": round(nominal * imp_share * rng.uniform(0.95, 1.05), 2),
                    "avoirs_exterieurs_nets_milliards_fcfa": round(
                        annual_nominal * aen_share * rng.uniform(0.8, 1.2), 2
                    ),
                    "masse_monetaire_m1_milliards_fcfa": round(m2 * rng.uniform(0.60, 0.72), 2),
                    "masse_monetaire_m2_milliards_fcfa": round(m2, 2),
                    "masse_monetaire_m3_milliards_fcfa": None,  # not published for member states
                    "credits_economie_milliards_fcfa": round(
                        annual_nominal * credit_share * rng.uniform(0.95, 1.05), 2
                    ),
                    "date_publication": VINTAGES[0],
                }
            )
    return rows


_REVISABLE = (
    "pib_nominal_milliards_fcfa",
    "recettes_budgetaires_milliards_fcfa",
    "depenses_budgetaires_milliards_fcfa",
    "exportations_milliards_fcfa",
    "importations_milliards_fcfa",
    "credits_economie_milliards_fcfa",
)


def _revise(row: dict, seed: int) -> dict:
    """Second-vintage version of a row: three figures move by 0.5-3 %."""
    rng = random.Random(f"revision:{seed}:{row['pays']}:{row['annee']}:{row['trimestre']}")
    revised = dict(row, date_publication=VINTAGES[1])
    for name in rng.sample(_REVISABLE, 3):
        factor = 1 + rng.choice((-1, 1)) * rng.uniform(0.005, 0.03)
        revised[name] = round(row[name] * factor, 2)
        if name == "pib_nominal_milliards_fcfa":  # same deflator: real GDP moves alike
            revised["pib_reel_milliards_fcfa"] = round(row["pib_reel_milliards_fcfa"] * factor, 2)
    revised["solde_budgetaire_milliards_fcfa"] = round(
        revised["recettes_budgetaires_milliards_fcfa"] - revised["depenses_budgetaires_milliards_fcfa"], 2
    )
    return revised


@lru_cache(maxsize=8)
def _records(vintage: int, seed: int) -> tuple[dict, ...]:
    if vintage == 0:
        return ()
    revised = revised_keys(seed) if vintage >= 2 else set()
    rows = []
    for pays in COUNTRIES:
        for row in _country_rows(pays, seed):
            key = (row["pays"], row["annee"], row["trimestre"])
            rows.append(_revise(row, seed) if key in revised else row)
    return tuple(rows)


def indicator_records(vintage: int = len(VINTAGES), seed: int = DEFAULT_SEED) -> list[dict]:
    """Latest version of each (pays, annee, trimestre) once `vintage` vintages are published.

    Sorted by pays, annee, trimestre; fresh dicts, the caller may modify them.
    """
    if not 0 <= vintage <= len(VINTAGES):
        raise ValueError(f"vintage must be between 0 and {len(VINTAGES)}, got {vintage}")
    return [dict(row) for row in _records(vintage, seed)]


def revised_keys(seed: int = DEFAULT_SEED) -> set[tuple[str, int, int]]:
    """Keys (pays, annee, trimestre) the second vintage revises (the same for every seed)."""
    return {(pays, year, quarter) for pays in REVISED_COUNTRIES for year, quarter in REVISED_QUARTERS}


# --- Web analytics of the publication portal -------------------------------------------

USERS_START = 1672531200  # 2023-01-01T00:00:00Z
USERS_SPAN_MINUTES = 731 * 24 * 60  # through 2024-12-31T23:59Z
EVENTS_START = 1735689600  # 2025-01-01T00:00:00Z, after every account's creation
EVENT_STEP_SECONDS = 7  # event i occurs in [start + 7 i, start + 7 i + 6]
EVENTS_PER_SESSION = 8
EVENT_TYPES = ("page_view", "download", "search", "subscribe")
_EVENT_WEIGHTS = (0.70, 0.12, 0.15, 0.03)
_TOPICS = ("pib", "inflation", "budget", "dette", "commerce", "monnaie", "credit")
_FIRST_NAMES = (
    "aminata",
    "moussa",
    "fatou",
    "kouassi",
    "adjoa",
    "ibrahim",
    "awa",
    "seydou",
    "mariam",
    "koffi",
    "oumar",
    "aissatou",
    "yao",
    "salimata",
    "boubacar",
    "rokia",
)
_LAST_NAMES = (
    "traore",
    "diallo",
    "ouedraogo",
    "kone",
    "sow",
    "diop",
    "mensah",
    "coulibaly",
    "ndiaye",
    "sawadogo",
    "camara",
    "toure",
    "agbodjan",
    "hounkpatin",
    "issoufou",
    "cisse",
)
_DOMAINS = ("example.org", "example.com", "example.net")


def _draws(tag: str, seed: int, i: int) -> list[float]:
    """Eight uniform floats in [0, 1) that depend only on (tag, seed, i)."""
    digest = hashlib.blake2b(f"{tag}:{seed}:{i}".encode(), digest_size=32).digest()
    return [int.from_bytes(digest[k : k + 4], "big") / 2**32 for k in range(0, 32, 4)]


def iso_utc(epoch_seconds: int) -> str:
    """`2024-03-05T14:07:00Z` from seconds since the epoch."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


def _pick(options: tuple, u: float):
    return options[int(u * len(options))]


def user_record(i: int, seed: int = DEFAULT_SEED) -> dict:
    """User `i` of the portal; about 20 % were updated after their creation."""
    u = _draws("user", seed, i)
    created = USERS_START + 60 * int(u[0] * USERS_SPAN_MINUTES)
    updated = created + 60 * (60 + int(u[2] * 180 * 24 * 60)) if u[1] < 0.2 else created
    return {
        "user_id": f"u{i:07d}",
        "email": f"{_pick(_FIRST_NAMES, u[3])}.{_pick(_LAST_NAMES, u[4])}{i}@{_pick(_DOMAINS, u[5])}",
        "pays": _pick(COUNTRIES, u[6]),
        "created_at": iso_utc(created),
        "updated_at": iso_utc(updated),
    }


def event_seconds(i: int, seed: int = DEFAULT_SEED) -> int:
    """When event `i` occurred (epoch seconds); strictly increasing with `i`, as in `event_record`."""
    jitter = int(_draws("event", seed, i)[0] * EVENT_STEP_SECONDS)  # 0..6
    return EVENTS_START + EVENT_STEP_SECONDS * i + jitter


def event_record(i: int, seed: int = DEFAULT_SEED, users: int = 1000) -> dict:
    """Event `i`; events of one session (8 consecutive indices) share their user."""
    u = _draws("event", seed, i)
    session = i // EVENTS_PER_SESSION
    user = int(_draws("session", seed, session)[0] * users)
    event_type, threshold = EVENT_TYPES[-1], 0.0
    for name, weight in zip(EVENT_TYPES, _EVENT_WEIGHTS, strict=True):
        threshold += weight
        if u[1] < threshold:
            event_type = name
            break
    pays, topic = _pick(COUNTRIES, u[2]), _pick(_TOPICS, u[3])
    page = {
        "page_view": f"/indicateurs/{pays}/{topic}",
        "download": f"/telechargements/{pays}/{topic}.csv",
        "search": f"/recherche?q={topic}",
        "subscribe": "/abonnement",
    }[event_type]
    return {
        "event_id": f"e{i:010d}",
        "user_id": f"u{user:07d}",
        "session_id": f"s{session:09d}-u{user:07d}",
        "event_type": event_type,
        "page": page,
        "occurred_at": iso_utc(EVENTS_START + EVENT_STEP_SECONDS * i + int(u[0] * EVENT_STEP_SECONDS)),
    }
