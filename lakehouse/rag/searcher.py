"""The search side of `make ask`, kept loaded by the warm server: the embedding model and the collection.

The local chromadb store is written by `make rag-index` in another process; each question first checks
the store's generation token and reopens the store when it changed, so an answer never comes from an
index older than the last `make rag-index`.
"""

from __future__ import annotations

from typing import Any

from lakehouse.core.errors import LakehouseError
from lakehouse.core.settings import Settings
from lakehouse.rag.ask import answer_question
from lakehouse.rag.embeddings import load_embedder
from lakehouse.rag.generator import enabled, phrase
from lakehouse.rag.store import forget_local_clients, index_generation, passages_collection


class AskError(LakehouseError):
    """A question that cannot be answered as asked; the message says what to do."""


class Searcher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.embedder = load_embedder(settings)
        self._collection: Any = None
        self._generation: str | None = None
        self.generate = (lambda question, sources: phrase(settings, question, sources)) if enabled(settings) else None

    def collection(self) -> Any:
        generation = index_generation(self.settings)
        if self._collection is None or generation != self._generation:
            if self._collection is not None:
                forget_local_clients()
            self._collection = passages_collection(self.settings, self.embedder)
            self._generation = generation
        return self._collection

    def answer(self, question: str, lake: Any) -> dict:
        if not question.strip():
            raise AskError('question vide : make ask Q="Le Niger a-t-il respecté le critère d\'inflation en 2022 ?"')
        collection = self.collection()
        if collection.count() == 0:
            raise AskError("l'index de recherche est vide : lancez make rag-index (ou make run)")
        return answer_question(question, lake, collection, generate=self.generate)
