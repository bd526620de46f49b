"""The labelled French questions of the semantic search bench: for each, the passage that answers it (by what
it is about, not by its id) and, when the question asks for a figure, the gold cell that holds it.

A relevant passage is described by metadata: {"source": table, "pays", "annee", "trimestre"} for a gold
passage, {"kind": "document", "source": file} for a note of documents/, {"kind": "dbt", "model", "column"}
for the dbt documentation. The expected figure is read from gold when the bench runs, never written here.
"""

from __future__ import annotations

from dataclasses import dataclass

CONV = "gold.gold_mart_uemoa_convergence"
GROWTH = "gold.gold_kpi_uemoa_growth_yoy"
TRADE = "gold.gold_mart_uemoa_external_trade"
MONEY = "gold.gold_mart_uemoa_monetary_dashboard"
STABILITY = "gold.gold_mart_uemoa_external_stability"
FINANCE = "gold.gold_mart_uemoa_public_finance"
UNION = "gold.gold_mart_uemoa_union_aggregates"


@dataclass(frozen=True)
class Labelled:
    question: str
    relevant: dict | tuple[dict, ...]  # metadata of a relevant passage (or of any one of several)
    figure: tuple[str, str, dict] | None = None  # (table, column, key) of the figure the answer must give


def _gold(table: str, pays: str | None, annee: int, trimestre: int | None = None) -> dict:
    meta: dict = {"source": table, "annee": annee}
    if pays:
        meta["pays"] = pays
    if trimestre:
        meta["trimestre"] = trimestre
    return meta


def _figure(table: str, column: str, pays: str | None, annee: int, trimestre: int | None = None):
    key = {k: v for k, v in (("pays", pays), ("annee", annee), ("trimestre", trimestre)) if v is not None}
    return (table, column, key)


def _doc(name: str) -> dict:
    return {"kind": "document", "source": name}


QUESTIONS: tuple[Labelled, ...] = (
    # convergence criteria, country and year: names, codes, accents or not
    Labelled(
        "Le Niger a-t-il respecté le critère d'inflation en 2022 ?",
        _gold(CONV, "NER", 2022),
        _figure(CONV, "inflation_moyenne_pct", "NER", 2022),
    ),
    Labelled(
        "le niger a t il respecte le critere d inflation en 2022",
        _gold(CONV, "NER", 2022),
        _figure(CONV, "inflation_moyenne_pct", "NER", 2022),
    ),
    Labelled(
        "Inflation moyenne du NER en 2023",
        _gold(CONV, "NER", 2023),
        _figure(CONV, "inflation_moyenne_pct", "NER", 2023),
    ),
    Labelled(
        "Le Sénégal respecte-t-il le critère de dette en 2022 ?",
        _gold(CONV, "SEN", 2022),
        _figure(CONV, "dette_pib_pct", "SEN", 2022),
    ),
    Labelled(
        "dette publique du senegal en 2021 rapportee au PIB",
        _gold(CONV, "SEN", 2021),
        _figure(CONV, "dette_pib_pct", "SEN", 2021),
    ),
    Labelled(
        "Quel est le solde budgétaire du Mali en 2020 ?",
        _gold(CONV, "MLI", 2020),
        _figure(CONV, "solde_budgetaire_pib_pct", "MLI", 2020),
    ),
    Labelled(
        "Déficit budgétaire de la Côte d'Ivoire en 2019",
        _gold(CONV, "CIV", 2019),
        _figure(CONV, "solde_budgetaire_pib_pct", "CIV", 2019),
    ),
    Labelled(
        "deficit budgetaire de la cote d'ivoire en 2018",
        _gold(CONV, "CIV", 2018),
        _figure(CONV, "solde_budgetaire_pib_pct", "CIV", 2018),
    ),
    Labelled(
        "Combien de critères de convergence le Togo respecte-t-il en 2023 ?",
        _gold(CONV, "TGO", 2023),
        _figure(CONV, "nombre_criteres_respectes", "TGO", 2023),
    ),
    Labelled(
        "La Guinée-Bissau respecte-t-elle le critère d'inflation en 2021 ?",
        _gold(CONV, "GNB", 2021),
        _figure(CONV, "inflation_moyenne_pct", "GNB", 2021),
    ),
    Labelled(
        "BFA : taux d'endettement 2022 et critère de 70 %",
        _gold(CONV, "BFA", 2022),
        _figure(CONV, "dette_pib_pct", "BFA", 2022),
    ),
    Labelled(
        "Le Bénin a-t-il respecté le critère d'inflation en 2017 ?",
        _gold(CONV, "BEN", 2017),
        _figure(CONV, "inflation_moyenne_pct", "BEN", 2017),
    ),
    # growth, country and quarter: « T3 2023 » and « troisième trimestre 2023 »
    Labelled(
        "Quelle a été la croissance du Sénégal au T3 2023 ?",
        _gold(GROWTH, "SEN", 2023, 3),
        _figure(GROWTH, "pib_reel_yoy_pct", "SEN", 2023, 3),
    ),
    Labelled(
        "croissance du senegal au troisieme trimestre 2023",
        _gold(GROWTH, "SEN", 2023, 3),
        _figure(GROWTH, "pib_reel_yoy_pct", "SEN", 2023, 3),
    ),
    Labelled(
        "Croissance de la Côte d'Ivoire au troisième trimestre 2023",
        _gold(GROWTH, "CIV", 2023, 3),
        _figure(GROWTH, "pib_reel_yoy_pct", "CIV", 2023, 3),
    ),
    Labelled(
        "PIB réel de la CIV au T2 2022", _gold(GROWTH, "CIV", 2022, 2), _figure(GROWTH, "pib_reel", "CIV", 2022, 2)
    ),
    Labelled(
        "Croissance du Burkina Faso au premier trimestre 2021",
        _gold(GROWTH, "BFA", 2021, 1),
        _figure(GROWTH, "pib_reel_yoy_pct", "BFA", 2021, 1),
    ),
    Labelled(
        "croissance du Niger au 4e trimestre 2022",
        _gold(GROWTH, "NER", 2022, 4),
        _figure(GROWTH, "pib_reel_yoy_pct", "NER", 2022, 4),
    ),
    # trade, money, external stability, public finance
    Labelled(
        "Balance commerciale du Mali au premier trimestre 2024",
        _gold(TRADE, "MLI", 2024, 1),
        _figure(TRADE, "balance_commerciale", "MLI", 2024, 1),
    ),
    Labelled(
        "exportations du MLI au T1 2024", _gold(TRADE, "MLI", 2024, 1), _figure(TRADE, "exportations", "MLI", 2024, 1)
    ),
    Labelled(
        "Importations du Bénin au deuxième trimestre 2023",
        _gold(TRADE, "BEN", 2023, 2),
        _figure(TRADE, "importations", "BEN", 2023, 2),
    ),
    Labelled(
        "Masse monétaire M2 du Togo au T4 2022",
        _gold(MONEY, "TGO", 2022, 4),
        _figure(MONEY, "masse_monetaire_m2", "TGO", 2022, 4),
    ),
    Labelled(
        "masse monetaire du togo au quatrieme trimestre 2022",
        _gold(MONEY, "TGO", 2022, 4),
        _figure(MONEY, "masse_monetaire_m2", "TGO", 2022, 4),
    ),
    Labelled(
        "Taux de liquidité du Sénégal au T2 2020",
        _gold(MONEY, "SEN", 2020, 2),
        _figure(MONEY, "taux_liquidite_pct", "SEN", 2020, 2),
    ),
    Labelled(
        "Combien de mois d'importations couvrent les réserves du Burkina au T2 2021 ?",
        _gold(STABILITY, "BFA", 2021, 2),
        _figure(STABILITY, "couverture_importations_mois", "BFA", 2021, 2),
    ),
    Labelled(
        "service de la dette sur exportations du Niger au T3 2022",
        _gold(STABILITY, "NER", 2022, 3),
        _figure(STABILITY, "service_dette_exportations_pct", "NER", 2022, 3),
    ),
    Labelled(
        "Ouverture commerciale de la Côte d'Ivoire au T4 2023",
        _gold(STABILITY, "CIV", 2023, 4),
        _figure(STABILITY, "ouverture_commerciale_pct", "CIV", 2023, 4),
    ),
    Labelled(
        "Recettes sur dépenses du Bénin au T4 2023",
        _gold(FINANCE, "BEN", 2023, 4),
        _figure(FINANCE, "recettes_depenses_pct", "BEN", 2023, 4),
    ),
    # the Union
    Labelled(
        "Croissance de l'UEMOA au T3 2023",
        _gold(UNION, None, 2023, 3),
        _figure(UNION, "pib_reel_yoy_pct", None, 2023, 3),
    ),
    Labelled(
        "inflation de l'union au troisième trimestre 2023",
        _gold(UNION, None, 2023, 3),
        _figure(UNION, "taux_inflation_pct", None, 2023, 3),
    ),
    Labelled(
        "PIB nominal de la zone UEMOA au premier trimestre 2022",
        _gold(UNION, None, 2022, 1),
        _figure(UNION, "pib_nominal", None, 2022, 1),
    ),
    # methodology (documents/) and definitions (dbt documentation)
    Labelled("Quels sont les critères de premier rang du pacte de convergence ?", _doc("pacte_de_convergence.md")),
    Labelled("Comment le lac calcule-t-il l'inflation moyenne d'une année ?", _doc("pacte_de_convergence.md")),
    Labelled("Les critères ont-ils été suspendus pendant la pandémie ?", _doc("pacte_de_convergence.md")),
    Labelled(
        "Qu'est-ce que la masse monétaire M2 ?",
        (_doc("agregats_monetaires.md"), {"kind": "dbt", "column": "masse_monetaire_m2"}),
    ),
    Labelled(
        "definition des avoirs exterieurs nets",
        (_doc("agregats_monetaires.md"), {"kind": "dbt", "column": "avoirs_exterieurs_nets"}),
    ),
    Labelled("Pourquoi M3 est-il nul pour les États membres ?", _doc("agregats_monetaires.md")),
    Labelled("Comment le lac traite-t-il les révisions des données publiées ?", _doc("revisions_et_millesimes.md")),
    Labelled("comment retrouver une valeur avant revision d'un millesime", _doc("revisions_et_millesimes.md")),
    Labelled(
        "Que signifie la colonne couverture_importations_mois ?",
        {"kind": "dbt", "model": "gold_mart_uemoa_external_stability", "column": "couverture_importations_mois"},
    ),
    Labelled(
        "formule du taux de couverture des importations par les exportations",
        (
            {"kind": "dbt", "model": "gold_mart_uemoa_external_trade", "column": "taux_couverture_pct"},
            _doc("agregats_monetaires.md"),
        ),
    ),
    Labelled(
        "Comment est calculé le ratio dette publique sur PIB dans le mart de convergence ?",
        (
            {"kind": "dbt", "model": "gold_mart_uemoa_convergence", "column": "dette_pib_pct"},
            _doc("pacte_de_convergence.md"),
        ),
    ),
)


def is_relevant(passage_metadata: dict, relevant: dict | tuple[dict, ...]) -> bool:
    alternatives = relevant if isinstance(relevant, tuple) else (relevant,)
    return any(all(passage_metadata.get(k) == v for k, v in wanted.items()) for wanted in alternatives)
