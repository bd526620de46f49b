"""Passages written from gold (and the silver dimension): one per row, in French, with the published figures.

Each table is a `Theme`: its grain (country and year, country and quarter, union and quarter), a
title, and the measures a passage states, each with its label, its unit and the words a question
uses for it. A passage says the country (name and code), the period in both forms, then each
measure with its value exactly as published (2 decimals) and, for the convergence criteria, the
threshold and whether it is met; what is embedded for the search is its `search_key` (country and
table, without period or figures). Its metadata carries `pays`, `annee`, `trimestre`, the table and
the Iceberg snapshot the row was read from: what `make ask` cites.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from lakehouse.rag.vocabulary import country_label, french_number, quarter_label

COUNTRY_YEAR, COUNTRY_QUARTER, UNION_QUARTER = "pays-annee", "pays-trimestre", "union-trimestre"


@dataclass(frozen=True)
class Measure:
    column: str
    label: str
    unit: str  # "%", "milliards de FCFA", "mois", "" (a plain ratio)
    keywords: tuple[str, ...]  # normalized words (no accents) that point a question at this measure
    criterion: tuple[str, str] | None = None  # (boolean column, « au plus 3 % ») for convergence criteria

    def statement(self, row: dict) -> str | None:
        value = row.get(self.column)
        if value is None:
            return None
        unit = f" {self.unit}" if self.unit else ""
        text = f"{self.label} : {french_number(value)}{unit}"
        if self.criterion:
            met = row.get(self.criterion[0])
            verdict = "non calculé" if met is None else "respecté" if met else "non respecté"
            text += f" (critère : {self.criterion[1]}) : critère {verdict}"
        return text


@dataclass(frozen=True)
class Theme:
    table: str  # namespace.table
    grain: str
    title: str
    measures: tuple[Measure, ...]

    @property
    def key_columns(self) -> tuple[str, ...]:
        return {
            COUNTRY_YEAR: ("pays", "annee"),
            COUNTRY_QUARTER: ("pays", "annee", "trimestre"),
            UNION_QUARTER: ("annee", "trimestre"),
        }[self.grain]

    @property
    def columns(self) -> list[str]:
        extra = [m.criterion[0] for m in self.measures if m.criterion]
        return [*self.key_columns, *(m.column for m in self.measures), *extra]


PCT, FCFA = "%", "milliards de FCFA"
THEMES: tuple[Theme, ...] = (
    Theme(
        "gold.gold_mart_uemoa_convergence",
        COUNTRY_YEAR,
        "critères de convergence de premier rang du pacte UEMOA (année complète)",
        (
            Measure(
                "solde_budgetaire_pib_pct",
                "solde budgétaire rapporté au PIB",
                "% du PIB",
                ("solde budgetaire", "deficit", "critere budgetaire", "solde"),
                ("critere_solde_respecte", "au moins -3 % du PIB"),
            ),
            Measure(
                "inflation_moyenne_pct",
                "inflation moyenne de l'année",
                PCT,
                ("inflation", "prix", "critere d'inflation"),
                ("critere_inflation_respecte", "au plus 3 %"),
            ),
            Measure(
                "dette_pib_pct",
                "dette publique rapportée au PIB",
                "% du PIB",
                ("dette", "endettement", "taux d'endettement"),
                ("critere_dette_respecte", "au plus 70 % du PIB"),
            ),
            Measure(
                "nombre_criteres_respectes",
                "nombre de critères respectés sur 3",
                "",
                ("criteres respectes", "combien de criteres", "criteres de convergence"),
            ),
        ),
    ),
    Theme(
        "gold.gold_kpi_uemoa_growth_yoy",
        COUNTRY_QUARTER,
        "croissance du PIB en glissement annuel",
        (
            Measure("pib_reel", "PIB réel du trimestre", FCFA, ("pib reel",)),
            Measure("pib_reel_yoy_pct", "croissance réelle en glissement annuel", PCT, ("croissance", "pib reel")),
            Measure("pib_nominal", "PIB nominal du trimestre", FCFA, ("pib nominal", "pib")),
            Measure("pib_nominal_yoy_pct", "croissance nominale en glissement annuel", PCT, ("croissance nominale",)),
        ),
    ),
    Theme(
        "gold.gold_mart_uemoa_external_stability",
        COUNTRY_QUARTER,
        "stabilité extérieure (4 derniers trimestres)",
        (
            Measure("ratio_endettement_pct", "dette publique / PIB des 4 derniers trimestres", PCT, ("endettement",)),
            Measure(
                "service_dette_exportations_pct",
                "service de la dette / exportations",
                PCT,
                ("service de la dette",),
            ),
            Measure(
                "couverture_importations_mois",
                "avoirs extérieurs nets en mois d'importations",
                "mois",
                ("mois d'importations", "reserves", "couverture des importations", "avoirs exterieurs"),
            ),
            Measure("ouverture_commerciale_pct", "ouverture commerciale", PCT, ("ouverture commerciale", "ouverture")),
        ),
    ),
    Theme(
        "gold.gold_mart_uemoa_external_trade",
        COUNTRY_QUARTER,
        "commerce extérieur du trimestre",
        (
            Measure("exportations", "exportations", FCFA, ("exportations", "exports")),
            Measure("importations", "importations", FCFA, ("importations", "imports")),
            Measure("balance_commerciale", "balance commerciale", FCFA, ("balance commerciale", "excedent commercial")),
            Measure("taux_couverture_pct", "taux de couverture des importations par les exportations", PCT, ()),
        ),
    ),
    Theme(
        "gold.gold_mart_uemoa_monetary_dashboard",
        COUNTRY_QUARTER,
        "situation monétaire de fin de trimestre",
        (
            Measure("masse_monetaire_m1", "masse monétaire M1", FCFA, ("m1",)),
            Measure("masse_monetaire_m2", "masse monétaire M2", FCFA, ("masse monetaire", "m2")),
            Measure("masse_monetaire_variation_pct", "variation annuelle de M2", PCT, ("variation de la masse",)),
            Measure("credits_economie_pib_pct", "crédits à l'économie / PIB", PCT, ("credits", "credit")),
            Measure("taux_liquidite_pct", "taux de liquidité (M2 / PIB)", PCT, ("liquidite",)),
        ),
    ),
    Theme(
        "gold.gold_mart_uemoa_public_finance",
        COUNTRY_QUARTER,
        "finances publiques sur 4 trimestres glissants",
        (
            Measure("solde_budgetaire_pib_pct", "solde budgétaire / PIB", PCT, ("solde budgetaire", "deficit")),
            Measure("dette_publique_pib_pct", "dette publique / PIB", PCT, ("dette",)),
            Measure("recettes_depenses_pct", "recettes / dépenses", PCT, ("recettes", "depenses")),
        ),
    ),
    Theme(
        "gold.gold_mart_uemoa_union_aggregates",
        UNION_QUARTER,
        "agrégats de l'Union (8 États)",
        (
            Measure("pib_nominal", "PIB nominal de l'Union", FCFA, ("pib nominal", "pib")),
            Measure("pib_reel_yoy_pct", "croissance réelle de l'Union en glissement annuel", PCT, ("croissance",)),
            Measure("taux_inflation_pct", "inflation de l'Union (moyenne pondérée par le PIB)", PCT, ("inflation",)),
            Measure("exportations", "exportations de l'Union", FCFA, ("exportations",)),
            Measure("importations", "importations de l'Union", FCFA, ("importations",)),
            Measure("dette_publique", "dette publique de l'Union", FCFA, ("dette",)),
            Measure("masse_monetaire_m2", "masse monétaire M2 de l'Union", FCFA, ("masse monetaire", "m2")),
        ),
    ),
    Theme(
        "silver.dim_uemoa_indicators",
        COUNTRY_QUARTER,
        "indicateurs de base du trimestre (dernier millésime publié)",
        (
            Measure("taux_inflation_pct", "inflation en glissement annuel", PCT, ("inflation", "prix")),
            Measure("recettes_budgetaires", "recettes budgétaires", FCFA, ("recettes",)),
            Measure("depenses_budgetaires", "dépenses budgétaires", FCFA, ("depenses",)),
            Measure("dette_publique", "encours de la dette publique", FCFA, ("encours de la dette",)),
            Measure("avoirs_exterieurs_nets", "avoirs extérieurs nets", FCFA, ("avoirs exterieurs", "reserves")),
            Measure("credits_economie", "crédits à l'économie", FCFA, ("credits a l'economie",)),
        ),
    ),
)
THEMES_BY_TABLE = {theme.table: theme for theme in THEMES}


@dataclass(frozen=True)
class Passage:
    text: str  # what `make ask` shows and cites
    metadata: dict  # scalar values only (chromadb): kind, source, snapshot_id, pays, annee, trimestre, ...
    search_text: str = ""  # what is embedded, when not `text` (see `row_passage`)

    @property
    def embedded(self) -> str:
        return self.search_text or self.text


def _period(theme: Theme, row: dict) -> str:
    if theme.grain == COUNTRY_YEAR:
        return f"{country_label(row['pays'])}, année {row['annee']}"
    quarter = quarter_label(int(row["annee"]), int(row["trimestre"]))
    if theme.grain == UNION_QUARTER:
        return f"UEMOA (Union, 8 États), {quarter}"
    return f"{country_label(row['pays'])}, {quarter}"


def search_key(theme: Theme, row: dict) -> str:
    """What is embedded for a row: its country (or the Union), the table's title and every measure's label,
    no period and no figure. The rows of one country in one table share it, so the index embeds about 60
    texts for the sample's 3,000 rows (bench rag_search: same recall@3, 8× faster to build). The period
    and the country a question names are found by metadata filters (`ask._where`), the figures are read
    from gold: what the embedding decides is which table answers."""
    who = "UEMOA (Union, 8 États)" if theme.grain == UNION_QUARTER else country_label(row["pays"])
    return f"{who} — {theme.title}. " + " ; ".join(m.label for m in theme.measures) + "."


def row_passage(theme: Theme, row: dict, snapshot_id: int | None) -> Passage | None:
    """The passage of one row; None when the row states no figure at all."""
    statements = [s for s in (m.statement(row) for m in theme.measures) if s]
    if not statements:
        return None
    heading = f"{_period(theme, row)} — {theme.title}. "
    text = heading + " ; ".join(statements) + "."
    search_text = search_key(theme, row)
    metadata = {
        "kind": "gold" if theme.table.startswith("gold.") else "silver",
        "source": theme.table,
        "snapshot_id": str(snapshot_id or ""),  # a string: Iceberg ids overflow chromadb's int64 checks
        "grain": theme.grain,
        "annee": int(row["annee"]),
    }
    if "pays" in theme.key_columns:
        metadata["pays"] = row["pays"]
    if "trimestre" in theme.key_columns:
        metadata["trimestre"] = int(row["trimestre"])
    return Passage(text, metadata, search_text)


def table_passages(theme: Theme, rows: Iterable[dict], snapshot_id: int | None) -> Iterator[Passage]:
    for row in rows:
        passage = row_passage(theme, row, snapshot_id)
        if passage is not None:
            yield passage
