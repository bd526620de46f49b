"""The default embedding model and the document side of the index, on a real local chromadb store (no stack).

The network is refused to every connection but 127.0.0.1: the model's weights and chromadb must need
nothing from outside.
"""

from __future__ import annotations

import shutil

import pytest

from lakehouse.core.settings import PROJECT_ROOT, load_settings
from lakehouse.rag.embeddings import EmbeddingModelError, LocalEmbedder
from lakehouse.rag.indexer import IndexReport, index_documents
from lakehouse.rag.store import passages_collection
from tests.no_network import refuse_outside_connections


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    refuse_outside_connections(monkeypatch)


@pytest.fixture(scope="module")
def default_embedder():
    return LocalEmbedder()  # the default of conf/lakehouse.env.example


@pytest.fixture
def settings(tmp_path):
    documents = tmp_path / "documents"
    shutil.copytree(PROJECT_ROOT / "documents", documents)
    return load_settings(
        environ={"LAKEHOUSE_STATE_DIR": str(tmp_path / "state"), "LAKEHOUSE_RAG_DOCUMENTS_DIR": str(documents)},
        env_file=PROJECT_ROOT / "absent.env",
    )


def test_the_default_model_is_multilingual_e5_and_finds_french_paraphrases(settings, default_embedder):
    assert settings.get("RAG_EMBEDDING_MODEL") == "multilingual-e5-small" == default_embedder.model
    collection = passages_collection(settings, default_embedder)
    assert collection.name == "uemoa_e5small"
    report = IndexReport()
    index_documents(settings, collection, default_embedder, report, out=lambda _: None)
    assert report.added >= 10 and "document:README.md" not in report.changed_groups
    for question, expected in (
        ("quels sont les seuils du pacte de convergence", "pacte_de_convergence.md"),
        ("definition de la masse monetaire", "agregats_monetaires.md"),
        ("que devient une valeur revisee dans silver", "revisions_et_millesimes.md"),
    ):
        found = collection.query(query_texts=[question], n_results=1)
        assert found["metadatas"][0][0]["source"] == expected, question


def test_documents_are_indexed_once_and_leave_when_removed(settings, default_embedder):
    collection = passages_collection(settings, default_embedder)
    index_documents(settings, collection, default_embedder, IndexReport(), out=lambda _: None)
    count = collection.count()
    again = IndexReport()
    index_documents(settings, collection, default_embedder, again, out=lambda _: None)
    assert (again.added, again.deleted, again.updated, again.changed_groups) == (0, 0, 0, [])

    folder = settings.state_dir.parent / "documents"
    (folder / "revisions_et_millesimes.md").unlink()
    note = folder / "pacte_de_convergence.md"
    note.write_text(note.read_text(encoding="utf-8") + "\n\nUne phrase ajoutée sur le critère de dette.\n")
    changed = IndexReport()
    lines: list[str] = []
    index_documents(settings, collection, default_embedder, changed, out=lines.append)
    assert "revisions_et_millesimes.md : retiré du dossier, retiré de l'index" in lines
    assert not collection.get(where={"source": "revisions_et_millesimes.md"}, include=[])["ids"]
    assert changed.changed_groups == ["document:pacte_de_convergence.md", "document:revisions_et_millesimes.md"]
    assert 0 < changed.added < count and changed.deleted > 0


def test_an_unknown_model_is_refused_with_the_choices():
    with pytest.raises(EmbeddingModelError, match="multilingual-e5-small, use-multilingual"):
        LocalEmbedder("gpt-embeddings")
