"""The optional generator of `make ask`, against a local stand-in of an OpenAI-compatible server.

The stand-in (tests/llm_stand_in.py) is a real HTTP server on 127.0.0.1 (a language model cannot
run here): it records each request and answers with the text a test gives it, so the checks on what
the model writes (citations, numbers absent from the sources) and the fallbacks (endpoint down, too
slow, unreadable reply) are real.
"""

from __future__ import annotations

import pytest

from lakehouse.core.settings import load_settings
from lakehouse.rag.generator import Source, compose, phrase
from tests.llm_stand_in import StandIn, running_stand_in

SOURCES = [
    Source(
        "gold.gold_kpi_convergence, snapshot 42", "Niger, année 2022, inflation : 4,23 % (critère : 3,00 % au plus)"
    ),
    Source("documents/pacte_de_convergence.md", "Le critère d'inflation fixe un plafond de 3 % par an."),
]
QUESTION = "Le Niger a-t-il respecté le critère d'inflation en 2022 ?"


def _settings(tmp_path, url: str, **extra: str):
    environ = {"LAKEHOUSE_LLM_URL": url, "LAKEHOUSE_LLM_TIMEOUT_SECONDS": "2", **extra}
    return load_settings(environ=environ, env_file=tmp_path / "absent.env")


@pytest.fixture
def stand_in():
    with running_stand_in() as server:
        yield server


def test_a_synthesis_that_cites_its_sources_is_kept_and_followed_by_their_quotation(tmp_path, stand_in):
    stand_in.reply = "Non : l'inflation du Niger atteint 4,23 % en 2022 [1], au-dessus du plafond de 3 % [2]."
    settings = _settings(tmp_path, stand_in.url, LAKEHOUSE_LLM_MODEL="mistral-7b", LAKEHOUSE_LLM_API_KEY="k")
    phrasing = phrase(settings, QUESTION, SOURCES)
    assert phrasing.note is None and phrasing.cited == [1, 2]
    request = stand_in.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer k"
    assert request["body"]["model"] == "mistral-7b" and request["body"]["temperature"] == 0
    user = request["body"]["messages"][-1]["content"]
    assert "[1] (gold.gold_kpi_convergence, snapshot 42) Niger, année 2022, inflation : 4,23 %" in user
    assert QUESTION in user
    answer = compose("Niger, année 2022, inflation : 4,23 %", phrasing, SOURCES)
    assert answer.startswith("Niger, année 2022, inflation : 4,23 %")  # the figure from gold stays first
    assert "Synthèse (générée par mistral-7b" in answer
    assert "[2] documents/pacte_de_convergence.md : « Le critère d'inflation fixe un plafond de 3 % par an. »" in answer


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("L'inflation du Niger atteint 4,5 % en 2022 [1].", "elle écrit le nombre 4,5, absent des sources"),
        ("L'inflation du Niger atteint 4,23 % en 2022.", "elle ne cite aucune source"),
        ("L'inflation du Niger atteint 4,23 % [3].", "elle cite une source qui n'existe pas ([3])"),
    ],
)
def test_a_synthesis_that_cannot_be_trusted_is_set_aside_with_its_reason(tmp_path, stand_in, reply, reason):
    stand_in.reply = reply
    phrasing = phrase(_settings(tmp_path, stand_in.url), QUESTION, SOURCES)
    assert phrasing.text is None
    assert phrasing.note == f"synthèse générée écartée : {reason}"
    answer = compose("Niger, année 2022, inflation : 4,23 %", phrasing, SOURCES)
    assert reply not in answer and "réponse extractive" in answer
    assert "model" not in stand_in.requests[0]["body"]  # no model set: the server's own


def test_numbers_are_compared_by_value_whatever_their_spelling(tmp_path, stand_in):
    stand_in.reply = "Au T3 2022, l'inflation vaut 4.23 % [1], pour un plafond de 3,00 % [2]."
    assert phrase(_settings(tmp_path, stand_in.url), QUESTION, SOURCES).note is None


def test_an_endpoint_down_slow_or_unreadable_leaves_the_extractive_answer(tmp_path, stand_in):
    closed = StandIn()  # a port that was free a moment ago, with nobody listening any more
    url = closed.url
    closed.server_close()
    down = phrase(_settings(tmp_path, url), QUESTION, SOURCES)
    assert down.text is None and down.note.startswith("générateur injoignable (http://127.0.0.1:")

    stand_in.reply, stand_in.delay = "4,23 % [1]", 3.0
    slow = phrase(_settings(tmp_path, stand_in.url, LAKEHOUSE_LLM_TIMEOUT_SECONDS="1"), QUESTION, SOURCES)
    assert slow.text is None and slow.note.startswith("générateur injoignable")

    stand_in.reply, stand_in.delay = b'{"error": "model not loaded"}', 0.0
    unreadable = phrase(_settings(tmp_path, stand_in.url), QUESTION, SOURCES)
    assert unreadable.note == "réponse du générateur illisible (format OpenAI attendu)"
