"""The words of the UEMOA domain that passages and questions share: countries, quarters, French numbers.

Passages name each country by its name and code, and each quarter in both forms (« T3 2023 »,
« troisième trimestre 2023 »), so that a question in either form finds them; questions are read
with the same tables (`normalize` drops accents and case). Numbers are written the French way,
with the 2 decimals of gold.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from lakehouse.core.numbers import number

# The eight member states (seed dbt/seeds/pays_uemoa.csv), with the other ways a question names them.
COUNTRIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "BEN": ("Bénin", ("benin", "beninois", "beninoise")),
    "BFA": ("Burkina Faso", ("burkina", "burkinabe")),
    "CIV": ("Côte d'Ivoire", ("cote d'ivoire", "cote divoire", "cote d ivoire", "ivoirien", "ivoirienne")),
    "GNB": ("Guinée-Bissau", ("guinee-bissau", "guinee bissau", "bissau", "bissau-guineen")),
    "MLI": ("Mali", ("mali", "malien", "malienne")),
    "NER": ("Niger", ("niger", "nigerien", "nigerienne")),
    "SEN": ("Sénégal", ("senegal", "senegalais", "senegalaise")),
    "TGO": ("Togo", ("togo", "togolais", "togolaise")),
}
# Countries a question may name that the lake does not hold (neighbours, other currency unions).
OTHER_COUNTRIES = (
    "ghana",
    "nigeria",
    "guinee",
    "mauritanie",
    "cap-vert",
    "gambie",
    "liberia",
    "sierra leone",
    "cameroun",
    "gabon",
    "tchad",
    "congo",
    "centrafrique",
    "guinee equatoriale",
    "maroc",
    "algerie",
    "tunisie",
    "france",
)
UNION_WORDS = ("uemoa", "union", "zone", "ensemble des pays", "sous-region", "regional")

ORDINALS = {1: "premier", 2: "deuxième", 3: "troisième", 4: "quatrième"}
_QUARTER_WORDS = {
    "premier": 1,
    "1er": 1,
    "1re": 1,
    "1ere": 1,
    "deuxieme": 2,
    "second": 2,
    "2e": 2,
    "2eme": 2,
    "troisieme": 3,
    "3e": 3,
    "3eme": 3,
    "quatrieme": 4,
    "dernier": 4,
    "4e": 4,
    "4eme": 4,
}


def normalize(text: str) -> str:
    """Lower case, no accents, typographic apostrophes made plain: what questions are matched on."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'").replace("`", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def country_label(code: str) -> str:
    """« Niger (NER) »."""
    return f"{COUNTRIES[code][0]} ({code})"


def quarter_label(year: int, quarter: int) -> str:
    """« T3 2023 (troisième trimestre 2023) »."""
    return f"T{quarter} {year} ({ORDINALS[quarter]} trimestre {year})"


def french_number(value: object) -> str:
    """A gold value as published: 2 decimals, half up, decimal comma, thousands apart (`core.numbers`)."""
    return number(Decimal(str(value)), 2)


def find_countries(question: str) -> tuple[list[str], list[str]]:
    """(UEMOA codes, other countries) a question names, in the order they appear."""
    text = normalize(question)
    found: list[tuple[int, str]] = []
    for code, (name, variants) in COUNTRIES.items():
        patterns = [re.escape(normalize(name)), *(re.escape(v) for v in variants), rf"\b{code.lower()}\b"]
        positions = [m.start() for p in patterns for m in re.finditer(rf"(?<![\w-]){p}(?![\w])", text)]
        if code == "NER":  # « Nigeria » is not « Niger »
            positions = [p for p in positions if not text.startswith("nigeria", p)]
        if positions:
            found.append((min(positions), code))
    others = [name for name in OTHER_COUNTRIES if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)]
    if "guinee" in others and any(code == "GNB" for _, code in found):
        others.remove("guinee")
    return [code for _, code in sorted(found)], others


def find_years(question: str) -> list[int]:
    return [int(year) for year in re.findall(r"(?<!\d)((?:19|20)\d\d)(?!\d)", question)]


def find_quarter(question: str) -> int | None:
    """The quarter a question names: « T3 », « Q3 », « 3e trimestre », « troisième trimestre »."""
    text = normalize(question)
    match = re.search(r"\b[tq]([1-4])\b", text)
    if match:
        return int(match.group(1))
    match = re.search(r"\b(\w+)\s+trimestre\b", text)
    if match and match.group(1) in _QUARTER_WORDS:
        return _QUARTER_WORDS[match.group(1)]
    match = re.search(r"\btrimestre\s+([1-4])\b", text)
    return int(match.group(1)) if match else None


def names_union(question: str) -> bool:
    text = normalize(question)
    return any(re.search(rf"\b{re.escape(word)}\b", text) for word in UNION_WORDS)
