"""The chromadb store of the passages: a local persistent store by default, a chroma server when configured.

- `LAKEHOUSE_CHROMA_URL` empty: `PersistentClient` under `<state>/chroma` (no server to run);
- `LAKEHOUSE_CHROMA_URL=http://127.0.0.1:8010`: a chroma server (`chroma run`, or the `chromadb`
  service of docker-compose.yml).

Telemetry is off in both cases. The collection's name carries the embedding model's key: passages
embedded by another model are never mixed with these (a change of model starts a new collection).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.core.settings import Settings


class StoreUnavailable(LakehouseError):
    """The chroma server does not answer; the message says where and what to do."""


def _chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def chroma_client(settings: Settings) -> Any:
    import chromadb

    url = settings.get("CHROMA_URL").strip()
    if not url:
        folder = settings.state_dir / "chroma"
        folder.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(folder), settings=_chroma_settings())
    parts = urlsplit(url)
    try:
        client = chromadb.HttpClient(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (443 if parts.scheme == "https" else 80),
            ssl=parts.scheme == "https",
            settings=_chroma_settings(),
        )
        client.heartbeat()
    except Exception as error:
        raise StoreUnavailable(
            f"serveur chroma injoignable sur {url} : {first_line(error)} "
            "(démarrez-le, ou videz LAKEHOUSE_CHROMA_URL pour le stockage local)"
        ) from None
    return client


def collection_name(settings: Settings, model_key: str) -> str:
    return f"{settings.get('RAG_COLLECTION')}_{model_key}"


def passages_collection(settings: Settings, embedder: Any, client: Any = None) -> Any:
    """The collection of the passages for this embedding model (created on first use, cosine distance)."""
    client = client or chroma_client(settings)
    return client.get_or_create_collection(
        name=collection_name(settings, embedder.key),
        embedding_function=embedder,
        configuration={"hnsw": {"space": "cosine"}},
        metadata={"modele_embeddings": embedder.key, "description": "passages du lakehouse UEMOA"},
    )


def _generation_file(settings: Settings):
    return settings.state_dir / "chroma" / "generation"


def index_generation(settings: Settings) -> str:
    """A token that changes each time `make rag-index` changes the local store (empty with a chroma server,
    which serves every client the same data)."""
    path = _generation_file(settings)
    if settings.get("CHROMA_URL").strip() or not path.exists():
        return ""
    return path.read_text(encoding="utf-8").strip()


def mark_changed(settings: Settings) -> None:
    """Tell the processes holding the local store open (the warm server of `make ask`) to reopen it."""
    import uuid

    if not settings.get("CHROMA_URL").strip():
        path = _generation_file(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(uuid.uuid4().hex, encoding="utf-8")


def forget_local_clients() -> None:
    """Drop chromadb's cached local clients: the next `chroma_client` reads the store from disk again."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
