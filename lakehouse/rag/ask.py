"""`make ask Q="..."`: exact figures from gold for what the question names, then the passages that answer it.

1. The question is read for countries (names with or without accents, ISO codes), years, a quarter
   (« T3 2023 », « troisième trimestre 2023 ») and indicators (the keywords of each measure).
2. Figures: for each named country (or the Union) and period, the rows of the tables whose measures
   the question names are read from gold through pyiceberg (never generated); each figure comes with
   its table and Iceberg snapshot. A country or a year the lake does not hold gets a French sentence
   saying what it holds.
3. Passages: the nearest passages of the chromadb collection, filtered to the named country and year
   when there are, with their citation (source, snapshot or file and page) and score (1 − cosine distance).

The answer is extractive: the figures and the passages, nothing generated. When a generator is
configured (`LAKEHOUSE_LLM_URL`, see `generator`), its checked synthesis follows the figures, with the
quotation of the sources it cites.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lakehouse.core.numbers import number
from lakehouse.rag.generator import Phrasing, Source, compose
from lakehouse.rag.gold_passages import COUNTRY_QUARTER, COUNTRY_YEAR, THEMES, UNION_QUARTER, Measure, Theme
from lakehouse.rag.vocabulary import (
    COUNTRIES,
    country_label,
    find_countries,
    find_quarter,
    find_years,
    names_union,
    normalize,
    quarter_label,
)

TOP_K = 3


@dataclass
class Question:
    text: str
    countries: list[str]
    other_countries: list[str]
    years: list[int]
    quarter: int | None
    union: bool
    keywords: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> Question:
        countries, others = find_countries(text)
        normalized = normalize(text)
        keywords = sorted(
            {k for theme in THEMES for m in theme.measures for k in m.keywords if _has_word(normalized, k)}
        )
        return cls(text, countries, others, find_years(text), find_quarter(text), names_union(text), keywords)


def _has_word(text: str, word: str) -> bool:
    import re

    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) is not None


@dataclass
class Figure:
    label: str
    value: str  # as published, French notation, with its unit
    table: str
    snapshot_id: str
    key: dict  # pays, annee, trimestre: those of the table's grain
    column: str = ""
    number: int | float | None = None  # the published value (2 decimals), for programs
    unit: str = ""

    def line(self) -> str:
        return f"{self.label} : {self.value} — {self.table}, snapshot {self.snapshot_id}"

    def as_json(self) -> dict:
        """The figure as `make ask FORMAT=json` gives it: each part a field a program can read."""
        return {
            "libelle": self.label,
            "texte": self.value,
            "table": self.table,
            "snapshot": self.snapshot_id,
            "pays": self.key.get("pays"),
            "annee": self.key.get("annee"),
            "trimestre": self.key.get("trimestre"),
            "colonne": self.column,
            "valeur": self.number,
            "unite": self.unit,
        }


def published_value(value: object) -> int | float:
    """A gold value as `french_number` shows it (2 decimals, half up), as a JSON number."""
    from lakehouse.core.numbers import rounded

    return value if isinstance(value, int) else float(rounded(value, 2))


def _themes_for(question: Question) -> list[tuple[Theme, list[Measure]]]:
    """The tables and measures the question asks for, at the grain it names (year, quarter, union); a
    country and a year whose indicator is only quarterly get the quarters of that year."""
    if question.countries:
        grains = [COUNTRY_QUARTER] if question.quarter else [COUNTRY_YEAR, COUNTRY_QUARTER]
    elif question.union:
        grains = [UNION_QUARTER]
    else:
        return []
    for grain in grains:
        chosen = []
        for theme in THEMES:
            measures = [m for m in theme.measures if any(k in question.keywords for k in m.keywords)]
            if theme.grain == grain and measures:
                chosen.append((theme, measures))
        if grain == COUNTRY_QUARTER and chosen:  # a gold table answers before the silver dimension
            chosen = [(t, m) for t, m in chosen if t.table.startswith("gold.")] or chosen
        if chosen:
            return chosen
    return []


def _key_filter(theme: Theme, country: str | None, year: int, quarter: int | None) -> str:
    clauses = [f"annee = {int(year)}"]
    if country and "pays" in theme.key_columns:
        clauses.append(f"pays = '{country}'")
    if quarter and "trimestre" in theme.key_columns:
        clauses.append(f"trimestre = {int(quarter)}")
    return " and ".join(clauses)


def _coverage(lake: Any) -> tuple[list[str], list[int]]:
    """(countries, years) that gold holds: what an answer says when the question is outside them."""
    rows = lake.table("gold.gold_kpi_uemoa_growth_yoy", columns=["pays", "annee"]).to_pylist()
    return sorted({r["pays"] for r in rows}), sorted({int(r["annee"]) for r in rows})


def lookup_figures(lake: Any, question: Question) -> tuple[list[Figure], list[str]]:
    """Figures read from gold for the question, and French notes (outside the lake, nothing asked)."""
    notes: list[str] = []
    countries, years = _coverage(lake)
    if question.other_countries:
        held = ", ".join(COUNTRIES[c][0] for c in countries)
        notes.append(
            f"Le lac ne couvre pas {', '.join(n.title() for n in question.other_countries)} : "
            f"il contient les 8 États de l'UEMOA ({held})."
        )
    asked_years = [y for y in question.years if y in years]
    for year in question.years:
        if year not in years:
            notes.append(f"Le lac ne contient pas l'année {year} : il couvre {years[0]} à {years[-1]}.")
    if not asked_years:
        return [], notes
    figures: list[Figure] = []
    targets = question.countries or ([None] if question.union else [])
    for theme, measures in _themes_for(question):
        snapshot = lake.load(theme.table).current_snapshot()
        if snapshot is None:
            continue
        snapshot_id = str(snapshot.snapshot_id)
        for country in targets:
            for year in asked_years:
                where = _key_filter(theme, country, year, question.quarter)
                rows = lake.table(
                    theme.table, columns=theme.columns, where=where, snapshot_id=snapshot.snapshot_id
                ).to_pylist()
                for row in rows:
                    period = (
                        f"année {year}" if theme.grain == COUNTRY_YEAR else quarter_label(year, int(row["trimestre"]))
                    )
                    who = country_label(country) if country else "UEMOA"
                    for measure in measures:
                        statement = measure.statement(row)
                        if statement is None:
                            continue
                        label, _, value = statement.partition(" : ")
                        key = {k: row[k] if k == "pays" else int(row[k]) for k in theme.key_columns}
                        figures.append(
                            Figure(
                                f"{who}, {period}, {label}",
                                value,
                                theme.table,
                                snapshot_id,
                                key,
                                measure.column,
                                published_value(row[measure.column]),
                                measure.unit,
                            )
                        )
    if question.countries or question.union:
        if not figures and not notes and question.keywords:
            notes.append("Aucune valeur publiée dans gold pour cette période.")
    return figures, notes


def _where(question: Question) -> dict | None:
    clauses: list[dict] = []
    if len(question.countries) == 1:
        clauses.append({"pays": question.countries[0]})
    if len(question.years) == 1:
        clauses.append({"annee": question.years[0]})
    if question.quarter and clauses:
        clauses.append({"trimestre": question.quarter})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _passage(pid: str, text: str, meta: dict, distance: float) -> dict:
    return {"text": text, "source": citation(meta), "metadata": meta, "score": round(1 - float(distance), 4)}


def _query(collection: Any, question: Question, k: int, where: dict | None) -> list[tuple[str, dict]]:
    found = collection.query(
        query_texts=[question.text], n_results=k, where=where, include=["documents", "metadatas", "distances"]
    )
    return [
        (pid, _passage(pid, text, meta, distance))
        for pid, text, meta, distance in zip(
            found["ids"][0], found["documents"][0], found["metadatas"][0], found["distances"][0], strict=True
        )
    ]


def _figure_where(figure: Figure) -> dict:
    clauses = [{"source": figure.table}, *({key: value} for key, value in figure.key.items())]
    return {"$and": clauses}


def _is_row(passage: dict) -> bool:
    return passage["metadata"].get("kind") in ("gold", "silver")


def search_passages(collection: Any, question: Question, figures: list[Figure], k: int = TOP_K) -> list[dict]:
    """The k passages to show, best score first: the rows of gold the figures were read from, then the
    nearest passages among the named country and period, then among all. Beyond the figures' rows, at
    most one row per table (rows of a table share their search text: a second one says nothing new),
    and no row at all when the question names only countries the lake does not hold."""
    results: dict[str, dict] = {}
    for figure in figures:
        if len(results) >= k:
            break
        for pid, passage in _query(collection, question, 1, _figure_where(figure)):
            results.setdefault(pid, passage)
    tables = {p["metadata"]["source"] for p in results.values() if _is_row(p)}
    rows_allowed = not (question.other_countries and not question.countries and not question.union)
    for where in ([_where(question)] if _where(question) else []) + [None]:
        if len(results) >= k:
            break
        candidates = _query(collection, question, k, _and(where, {"kind": {"$in": ["dbt", "document"]}}))
        while rows_allowed and len(candidates) < 2 * k:  # the best row of each table not shown yet
            others = {"source": {"$nin": sorted(tables)}} if tables else None
            best_row = _query(collection, question, 1, _and(where, {"kind": {"$in": ["gold", "silver"]}}, others))
            if not best_row:
                break
            candidates += best_row
            tables.add(best_row[0][1]["metadata"]["source"])
        for pid, passage in sorted(candidates, key=lambda candidate: -candidate[1]["score"]):
            if len(results) < k:
                results.setdefault(pid, passage)
    return sorted(results.values(), key=lambda passage: -passage["score"])


def _and(*clauses: dict | None) -> dict:
    present = [clause for clause in clauses if clause]
    return present[0] if len(present) == 1 else {"$and": present}


def citation(meta: dict) -> str:
    if meta.get("kind") in ("gold", "silver"):
        return f"{meta['source']} (snapshot {meta.get('snapshot_id')})"
    if meta.get("kind") == "document":
        page = f", page {meta['page']}" if meta.get("page") else ""
        return f"documents/{meta['source']}{page}"
    return f"dbt/{meta['source']}"


def extractive_answer(figures: list[Figure], notes: list[str], passages: list[dict]) -> str:
    lines = [figure.line() for figure in figures] + notes
    if not lines and passages:
        lines.append(f"Passage le plus proche ({passages[0]['source']}) : {passages[0]['text']}")
    return "\n".join(lines) if lines else "Rien dans le lac ne répond à cette question."


def sources_of(figures: list[Figure], passages: list[dict]) -> list[Source]:
    """What a generator may cite, numbered from 1 in this order: the figures, then the passages."""
    return [Source(f"{f.table}, snapshot {f.snapshot_id}", f"{f.label} : {f.value}") for f in figures] + [
        Source(p["source"], p["text"]) for p in passages
    ]


def answer_question(
    text: str,
    lake: Any,
    collection: Any,
    k: int = TOP_K,
    generate: Callable[[str, list[Source]], Phrasing] | None = None,
) -> dict:
    """The JSON answer of `make ask`: question, answer, figures, passages (and the generator's verdict
    under `generated` when one is configured)."""
    question = Question.parse(text)
    figures, notes = lookup_figures(lake, question)
    passages = search_passages(collection, question, figures, k)
    answer = extractive_answer(figures, notes, passages)
    body: dict[str, Any] = {"question": text}
    if generate is not None:
        sources = sources_of(figures, passages)
        phrasing = generate(text, sources)
        answer = compose(answer, phrasing, sources)
        body["generated"] = {
            "model": phrasing.model,
            "text": phrasing.text,
            "cited": phrasing.cited,
            "note": phrasing.note,
        }
    body["answer"] = answer
    body["figures"] = [figure.as_json() for figure in figures]
    body["passages"] = passages
    return body


def format_answer(body: dict) -> list[str]:
    """The answer as a user reads it in a terminal."""
    lines = [f"Question : {body['question']}", "", "Réponse :", *("  " + line for line in body["answer"].splitlines())]
    if body["passages"]:
        lines += ["", "Passages :"]
        for rank, passage in enumerate(body["passages"], start=1):
            lines.append(f"  [{rank}] {passage['source']} — score {number(passage['score'], 2)}")
            lines.append(f"      {passage['text'][:400]}{' …' if len(passage['text']) > 400 else ''}")
    return lines
