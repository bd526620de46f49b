"""Optional phrasing of `make ask`'s answer by a language model behind an OpenAI-compatible endpoint.

Off by default (`LAKEHOUSE_LLM_URL` empty): the answer is then extractive. When an endpoint is set
(a llama.cpp, vLLM, Ollama or any `/v1/chat/completions` server the team runs), the model receives the
question, the exact figures read from gold and the passages, numbered [1]..[n], and is told to answer
from them only and to cite them. Its text is kept only if it can be trusted:
- it cites at least one source by its number, and only numbers that exist;
- every number it writes appears in the question, the figures or the passages (a number that
  appears nowhere is an invented number: the text is set aside, with the reason, and the answer
  stays extractive);
and it is then followed by the quotation of each source it cites. An endpoint that fails or does not
answer in time leaves the extractive answer, with a French note saying so.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from decimal import Decimal

from lakehouse.core.settings import Settings

QUOTE_CHARS = 400
_CITED = re.compile(r"\[(\d{1,2})\]")
# a decimal point (« 3.45 ») first, then the French form (« 1 234,56 », « 3,45 », « 2023 »)
_NUMBER = re.compile(r"\d+\.\d{1,2}(?!\d)|\d+(?:[ \u00a0\u202f.]\d{3}(?!\d))*(?:,\d+)?")

INSTRUCTIONS = (
    "Tu es l'assistant de l'équipe de données de la BCEAO. Réponds en français, en trois phrases au plus, "
    "uniquement à partir des sources numérotées ci-dessous. Cite chaque source utilisée par son numéro "
    "entre crochets, par exemple [1]. N'écris aucun nombre qui ne figure pas dans les sources, "
    "recopie les valeurs telles qu'elles sont écrites. Si les sources ne répondent pas, dis-le."
)


@dataclass
class Source:
    citation: str
    text: str

    def quote(self) -> str:
        text = self.text if len(self.text) <= QUOTE_CHARS else self.text[:QUOTE_CHARS] + " …"
        return f"{self.citation} : « {text} »"


@dataclass
class Phrasing:
    text: str | None  # the model's answer, kept; None when set aside or not obtained
    model: str
    cited: list[int]
    note: str | None  # why the text was set aside or not obtained


def enabled(settings: Settings) -> bool:
    return bool(settings.get("LLM_URL").strip())


def _value(number: str) -> Decimal:
    """« 1 234,50 », « 1234.5 » and « 1234,5 » alike give Decimal('1234.5')."""
    if re.fullmatch(r"\d+\.\d{1,2}", number):
        return Decimal(number).normalize()
    whole, _, decimals = number.partition(",")
    return Decimal(re.sub(r"\D", "", whole) + "." + (decimals or "0")).normalize()


def _numbers(text: str) -> dict[Decimal, str]:
    """The numbers a text writes (citation marks [n] left out), by value, each with its first spelling."""
    found: dict[Decimal, str] = {}
    for match in _NUMBER.findall(_CITED.sub(" ", text)):
        found.setdefault(_value(match), match)
    return found


def prompt(question: str, sources: list[Source]) -> list[dict]:
    numbered = "\n".join(f"[{rank}] ({s.citation}) {s.text}" for rank, s in enumerate(sources, start=1))
    return [
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": f"Sources :\n{numbered}\n\nQuestion : {question}"},
    ]


def _complete(settings: Settings, messages: list[dict]) -> str:
    url = settings.get("LLM_URL").rstrip("/") + "/chat/completions"
    body: dict = {"messages": messages, "temperature": 0}
    if settings.get("LLM_MODEL"):
        body["model"] = settings.get("LLM_MODEL")
    headers = {"Content-Type": "application/json"}
    key = settings.get("LLM_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=settings.get_int("LLM_TIMEOUT_SECONDS")) as response:
        reply = json.loads(response.read())
    return str(reply["choices"][0]["message"]["content"]).strip()


def check(text: str, question: str, sources: list[Source]) -> tuple[list[int], str | None]:
    """(sources cited, reason to set the text aside or None)."""
    cited = sorted({int(n) for n in _CITED.findall(text)})
    if not cited:
        return [], "elle ne cite aucune source"
    unknown = [n for n in cited if not 1 <= n <= len(sources)]
    if unknown:
        return cited, f"elle cite une source qui n'existe pas ([{unknown[0]}])"
    allowed = set(_numbers(question))
    for source in sources:
        allowed |= set(_numbers(source.text)) | set(_numbers(source.citation))
    invented = [spelling for value, spelling in _numbers(text).items() if value not in allowed]
    if invented:
        return cited, f"elle écrit le nombre {invented[0]}, absent des sources"
    return cited, None


def phrase(settings: Settings, question: str, sources: list[Source]) -> Phrasing:
    """The model's answer to `question` from `sources`, checked (see the module's rules)."""
    model = settings.get("LLM_MODEL")
    if not sources:
        return Phrasing(None, model, [], "aucune source à citer")
    try:
        text = _complete(settings, prompt(question, sources))
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        return Phrasing(None, model, [], f"générateur injoignable ({settings.get('LLM_URL')} : {reason})")
    except (ValueError, KeyError, IndexError, TypeError):
        return Phrasing(None, model, [], "réponse du générateur illisible (format OpenAI attendu)")
    cited, reason = check(text, question, sources)
    if reason:
        return Phrasing(None, model, cited, f"synthèse générée écartée : {reason}")
    return Phrasing(text, model, cited, None)


def compose(extractive: str, phrasing: Phrasing, sources: list[Source]) -> str:
    """The answer printed: the extractive part (figures and notes) always, then the kept synthesis
    followed by the quotation of the sources it cites, or the note saying why there is none."""
    lines = [extractive]
    if phrasing.text:
        lines += [
            "",
            f"Synthèse (générée par {phrasing.model or 'le modèle'}, sur les sources citées) :",
            phrasing.text,
        ]
        lines += ["", "Sources citées :", *(f"[{n}] {sources[n - 1].quote()}" for n in phrasing.cited)]
    elif phrasing.note:
        lines += ["", f"({phrasing.note} ; réponse extractive)"]
    return "\n".join(lines)
