"""The text side of the semantic search: how questions are read, how passages and chunks are written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lakehouse.rag.ask import Question, _themes_for, citation
from lakehouse.rag.doc_passages import chunks, dbt_passages
from lakehouse.rag.gold_passages import THEMES_BY_TABLE, Passage, row_passage
from lakehouse.rag.indexer import passage_id
from lakehouse.rag.vocabulary import find_countries, find_quarter, find_years, french_number, normalize


@pytest.mark.parametrize(
    ("question", "codes", "others"),
    [
        ("Le Niger a-t-il respecté le critère d'inflation en 2022 ?", ["NER"], []),
        ("inflation du NER en 2022", ["NER"], []),
        ("Croissance de la Cote d'Ivoire et du Sénégal", ["CIV", "SEN"], []),
        ("croissance de la côte d’ivoire", ["CIV"], []),
        ("dette de la Guinée-Bissau", ["GNB"], []),
        ("inflation au Nigeria en 2022", [], ["nigeria"]),
        ("PIB du Ghana et du Burkina", ["BFA"], ["ghana"]),
        ("quelle est la croissance de l'Union ?", [], []),
    ],
)
def test_countries_are_found_by_name_accent_or_code(question, codes, others):
    assert find_countries(question) == (codes, others)


@pytest.mark.parametrize(
    ("question", "quarter"),
    [
        ("croissance au T3 2023", 3),
        ("croissance au troisième trimestre 2023", 3),
        ("croissance au troisieme trimestre 2023", 3),
        ("au 1er trimestre 2021", 1),
        ("au 2e trimestre", 2),
        ("Q4 2022", 4),
        ("en 2022", None),
        ("Togo, trimestre 2 de 2020", 2),
    ],
)
def test_quarters_in_both_forms(question, quarter):
    assert find_quarter(question) == quarter


def test_years_and_normalization():
    assert find_years("entre 2019 et 2023, pas 12345") == [2019, 2023]
    assert normalize("Côte d’Ivoire ÉTÉ") == "cote d'ivoire ete"


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("4.2"), "4,20"), (-3.005, "-3,01"), (Decimal("1234567.891"), "1\u202f234\u202f567,89"), (0, "0,00")],
)
def test_numbers_are_written_as_published(value, text):
    assert french_number(value) == text


def test_a_convergence_passage_states_figures_thresholds_and_verdicts():
    theme = THEMES_BY_TABLE["gold.gold_mart_uemoa_convergence"]
    row = {
        "pays": "NER",
        "annee": 2022,
        "solde_budgetaire_pib_pct": Decimal("-4.12"),
        "critere_solde_respecte": False,
        "inflation_moyenne_pct": Decimal("4.20"),
        "critere_inflation_respecte": False,
        "dette_pib_pct": Decimal("45.10"),
        "critere_dette_respecte": True,
        "nombre_criteres_respectes": 1,
    }
    passage = row_passage(theme, row, 123456789012345678)
    assert passage.text.startswith("Niger (NER), année 2022 — critères de convergence")
    assert "inflation moyenne de l'année : 4,20 % (critère : au plus 3 %) : critère non respecté" in passage.text
    assert "dette publique rapportée au PIB : 45,10 % du PIB (critère : au plus 70 % du PIB) : critère respecté" in (
        passage.text
    )
    assert passage.metadata == {
        "kind": "gold",
        "source": "gold.gold_mart_uemoa_convergence",
        "snapshot_id": "123456789012345678",
        "grain": "pays-annee",
        "annee": 2022,
        "pays": "NER",
    }
    # embedded: the country, the table and its measures, without period or figures (filters find the
    # period, gold gives the values): every row of a country in a table shares it, embedded once
    assert passage.search_text == (
        "Niger (NER) — critères de convergence de premier rang du pacte UEMOA (année complète). "
        "solde budgétaire rapporté au PIB ; inflation moyenne de l'année ; dette publique rapportée au PIB ; "
        "nombre de critères respectés sur 3."
    )
    assert row_passage(theme, {**row, "annee": 2015, "dette_pib_pct": None}, 1).search_text == passage.search_text


def test_a_quarter_passage_names_the_quarter_both_ways_and_skips_missing_values():
    theme = THEMES_BY_TABLE["gold.gold_kpi_uemoa_growth_yoy"]
    row = {"pays": "CIV", "annee": 2023, "trimestre": 3, "pib_reel": Decimal("9876.5"), "pib_reel_yoy_pct": None}
    passage = row_passage(theme, row, 1)
    assert "Côte d'Ivoire (CIV), T3 2023 (troisième trimestre 2023)" in passage.text
    assert "PIB réel du trimestre : 9\u202f876,50 milliards de FCFA" in passage.text
    assert "croissance réelle" not in passage.text  # no value, no statement
    assert passage.metadata["trimestre"] == 3
    assert row_passage(theme, {"pays": "CIV", "annee": 2023, "trimestre": 3}, 1) is None


def test_questions_select_the_tables_of_their_grain():
    yearly = Question.parse("Le Niger a-t-il respecté le critère d'inflation en 2022 ?")
    assert [(t.table, [m.column for m in ms]) for t, ms in _themes_for(yearly)] == [
        ("gold.gold_mart_uemoa_convergence", ["inflation_moyenne_pct"])
    ]
    quarterly = Question.parse("Quelle a été la croissance du Sénégal au T3 2023 ?")
    assert [t.table for t, _ in _themes_for(quarterly)] == ["gold.gold_kpi_uemoa_growth_yoy"]
    union = Question.parse("inflation de l'UEMOA au troisième trimestre 2023")
    assert [t.table for t, _ in _themes_for(union)] == ["gold.gold_mart_uemoa_union_aggregates"]
    assert _themes_for(Question.parse("que signifie le taux de couverture ?")) == []


def test_chunks_overlap_and_respect_the_size():
    sentences = [f"Phrase numéro {i} sur la masse monétaire et les avoirs extérieurs nets." for i in range(60)]
    text = " ".join(sentences[:30]) + "\n\n" + " ".join(sentences[30:])
    pieces = chunks(text, size=400, overlap=80)
    assert len(pieces) > 5
    assert all(len(p) <= 400 + 80 + 80 for p in pieces)
    for before, after in zip(pieces, pieces[1:], strict=False):
        assert after[:30] in before  # each piece starts with the end of the one before
    for sentence in sentences:
        assert any(sentence in p for p in pieces)  # nothing lost
    assert chunks("") == []


def test_dbt_documentation_gives_model_and_column_passages():
    from lakehouse.core.settings import PROJECT_ROOT

    passages = list(dbt_passages(PROJECT_ROOT / "dbt" / "models"))
    texts = {(p.metadata["model"], p.metadata["column"]): p.text for p in passages}
    assert "Dette publique au T4" in texts[("gold_mart_uemoa_convergence", "dette_pib_pct")]
    assert "Code ISO 3166" in texts[("gold_mart_uemoa_convergence", "pays")]  # {{ doc('pays') }} resolved
    assert "{{" not in " ".join(texts.values())


def test_ids_come_from_content_and_citations_name_their_source():
    a, b = Passage("a", {}), Passage("b", {})
    assert passage_id("gold.t", a) == passage_id("gold.t", Passage("a", {"x": 1})) != passage_id("gold.t", b)
    assert passage_id("gold.t", a) != passage_id("gold.u", a)
    # what is embedded is part of the content: a passage embedded from another text is another passage
    assert passage_id("gold.t", a) != passage_id("gold.t", Passage("a", {}, search_text="a sans chiffres"))
    assert passage_id("gold.t", a) == passage_id("gold.t", Passage("a", {}, search_text="a"))
    assert citation({"kind": "gold", "source": "gold.t", "snapshot_id": "42"}) == "gold.t (snapshot 42)"
    assert citation({"kind": "document", "source": "pacte.pdf", "page": 2}) == "documents/pacte.pdf, page 2"
    assert citation({"kind": "dbt", "source": "models/marts/gold/x.yml"}) == "dbt/models/marts/gold/x.yml"


def test_a_quarterly_indicator_asked_for_a_year_gives_its_quarters():
    question = Question.parse("Quelle a été la croissance du Sénégal en 2023 ?")
    assert question.quarter is None
    assert [t.table for t, _ in _themes_for(question)] == ["gold.gold_kpi_uemoa_growth_yoy"]
