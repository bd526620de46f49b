"""`make rag-index`: bring the chromadb collection in line with gold, the dbt docs and the documents folder.

Idempotent and incremental. Passages are kept in groups, one per source: a gold or silver table,
the dbt documentation, one document. A passage's id is a digest of its group and its text, so:
- a group whose source has not changed is not read again: a table whose current Iceberg snapshot is
  the one its passages carry, a document whose content digest is the one its passages carry;
- in a group that changed, only new texts are embedded; vanished texts are deleted; unchanged texts
  keep their embedding and get the new snapshot id in their metadata (what `make ask` cites);
- a document removed from the folder leaves the index;
- a document that cannot be read (damaged PDF, text not in UTF-8, PDF without a text layer) is skipped
  with its reason in the report, and its earlier passages leave the index: what `make ask` cites is
  always what the folder's readable files say. The other sources are indexed as usual.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.core.faults import fault_point
from lakehouse.core.numbers import number
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import PROJECT_ROOT, Settings
from lakehouse.rag.doc_passages import DocumentError, dbt_passages, document_files, document_passages
from lakehouse.rag.gold_passages import THEMES, Passage, table_passages

BATCH = 256
DBT_GROUP = "dbt"
DOCUMENT_PREFIX = "document:"
NO_TEXT = "aucun texte lisible (PDF scanné ? l'OCR n'est pas fait ici) ; fournissez une version texte"


@dataclass
class IndexReport:
    added: int = 0
    deleted: int = 0
    updated: int = 0
    unchanged_groups: list[str] = field(default_factory=list)
    changed_groups: list[str] = field(default_factory=list)
    missing_tables: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)  # document (relative path) -> why it was skipped

    def line(self) -> str:
        line = (
            f"{self.added} passage(s) ajouté(s), {self.deleted} supprimé(s), {self.updated} mis à jour ; "
            f"{len(self.changed_groups)} source(s) relue(s), {len(self.unchanged_groups)} inchangée(s)"
        )
        if self.rejected:
            line += f" ; {len(self.rejected)} document(s) ignoré(s) : {', '.join(sorted(self.rejected))}"
        return line


def passage_id(group: str, passage: Passage) -> str:
    """A digest of the group, the text and what is embedded: the same content, the same id."""
    embedded = "" if passage.embedded == passage.text else passage.embedded
    return hashlib.sha256(f"{group}\n{passage.text}\n{embedded}".encode()).hexdigest()[:32]


def _existing(collection: Any, group: str) -> dict[str, dict]:
    found = collection.get(where={"group": group}, include=["metadatas"])
    return dict(zip(found["ids"], found["metadatas"], strict=True))


def sync_group(
    collection: Any,
    group: str,
    passages: Iterable[Passage],
    report: IndexReport,
    embedder: Any,
    out: Reporter | None = None,
) -> None:
    """Make the group's passages in the collection exactly `passages` (see the module's rules), new ones
    embedded by `embedder` from their `embedded` text; with `out`, a progress line per batch embedded
    when there are several."""
    wanted: dict[str, tuple[str, dict, str]] = {}
    for passage in passages:
        metadata = {**passage.metadata, "group": group}
        wanted[passage_id(group, passage)] = (passage.text, metadata, passage.embedded)
    existing = _existing(collection, group)
    stale = [pid for pid in existing if pid not in wanted]
    new = [pid for pid in wanted if pid not in existing]
    moved = [pid for pid in wanted if pid in existing and existing[pid] != wanted[pid][1]]
    for start in range(0, len(stale), BATCH):
        collection.delete(ids=stale[start : start + BATCH])
    vectors = _embed_unique([wanted[p][2] for p in new], embedder, group, out)
    for start in range(0, len(new), BATCH):
        batch = new[start : start + BATCH]
        collection.add(
            ids=batch,
            documents=[wanted[p][0] for p in batch],
            metadatas=[wanted[p][1] for p in batch],
            embeddings=[vectors[wanted[p][2]] for p in batch],
        )
        fault_point("rag-batch-added")
    for start in range(0, len(moved), BATCH):
        batch = moved[start : start + BATCH]
        collection.update(ids=batch, metadatas=[wanted[p][1] for p in batch])
    report.added += len(new)
    report.deleted += len(stale)
    report.updated += len(moved)
    report.changed_groups.append(group)


def _embed_unique(texts: list[str], embedder: Any, group: str, out: Reporter | None) -> dict[str, Any]:
    """Each distinct text embedded once (the passages of one key share their search text: see
    `gold_passages.search_key`); with `out`, a progress line per batch when there are several."""
    unique = list(dict.fromkeys(texts))
    vectors: dict[str, Any] = {}
    started = time.monotonic()
    for start in range(0, len(unique), BATCH):
        batch = unique[start : start + BATCH]
        vectors.update(zip(batch, embedder(batch), strict=True))
        done = start + len(batch)
        if out and len(unique) > BATCH:
            rate = done / max(time.monotonic() - started, 1e-6)
            out(f"  {group} : {done}/{len(unique)} textes vectorisés ({number(rate)}/s)")
    return vectors


def _group_values(collection: Any, group: str, key: str) -> set:
    return {meta.get(key) for meta in _existing(collection, group).values()}


def index_tables(
    settings: Settings, collection: Any, embedder: Any, report: IndexReport, out: Reporter, lake: Any = None
) -> None:
    from lakehouse.fast_read import FastReadError, Lake

    lake = lake or Lake(settings)
    for theme in THEMES:
        try:
            table = lake.load(theme.table)
        except FastReadError:
            report.missing_tables.append(theme.table)
            out(f"{theme.table} : table absente (make run la construit), passages non indexés")
            continue
        snapshot = table.current_snapshot()
        snapshot_id = str(snapshot.snapshot_id) if snapshot else ""
        if _group_values(collection, theme.table, "snapshot_id") == {snapshot_id}:
            report.unchanged_groups.append(theme.table)
            continue
        rows = lake.table(theme.table, columns=theme.columns).to_pylist()
        before = (report.added, report.deleted, report.updated)
        passages = table_passages(theme, rows, snapshot.snapshot_id if snapshot else None)
        sync_group(collection, theme.table, passages, report, embedder, out)
        out(
            f"{theme.table}@{snapshot_id} : {len(rows)} lignes, +{report.added - before[0]} "
            f"-{report.deleted - before[1]} ~{report.updated - before[2]} passages"
        )


def _digest_of_files(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def index_dbt_docs(
    collection: Any, embedder: Any, report: IndexReport, out: Reporter, models_dir: Path | None = None
) -> None:
    models_dir = models_dir or PROJECT_ROOT / "dbt" / "models"
    files = sorted([*models_dir.rglob("*.yml"), *models_dir.rglob("*.md")])
    content = _digest_of_files(files)
    if _group_values(collection, DBT_GROUP, "content_sha") == {content}:
        report.unchanged_groups.append(DBT_GROUP)
        return
    passages = [Passage(p.text, {**p.metadata, "content_sha": content}) for p in dbt_passages(models_dir)]
    before = report.added
    sync_group(collection, DBT_GROUP, passages, report, embedder, out)
    out(f"documentation dbt : {len(passages)} passages (+{report.added - before})")


def documents_dir(settings: Settings) -> Path:
    path = Path(settings.get("RAG_DOCUMENTS_DIR")).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def index_documents(settings: Settings, collection: Any, embedder: Any, report: IndexReport, out: Reporter) -> None:
    folder = documents_dir(settings)
    present = {}
    for path in document_files(folder):
        group = DOCUMENT_PREFIX + path.relative_to(folder).as_posix()
        present[group] = path
        content = _digest_of_files([path])
        if _group_values(collection, group, "content_sha") == {content}:
            report.unchanged_groups.append(group)
            continue
        relative = group.removeprefix(DOCUMENT_PREFIX)
        try:
            passages = [
                Passage(p.text, {**p.metadata, "content_sha": content}) for p in document_passages(folder, path)
            ]
        except DocumentError as error:
            _skip_document(collection, group, str(error), report, out)
            continue
        if not passages:
            reason = f"{relative} : {NO_TEXT}"
            _skip_document(collection, group, reason, report, out)
            continue
        sync_group(collection, group, passages, report, embedder)
        out(f"{relative} : {len(passages)} passage(s)")
    indexed = {meta["group"] for meta in collection.get(where={"kind": "document"}, include=["metadatas"])["metadatas"]}
    for group in sorted(indexed - set(present)):
        sync_group(collection, group, [], report, embedder)
        out(f"{group.removeprefix(DOCUMENT_PREFIX)} : retiré du dossier, retiré de l'index")


def _skip_document(collection: Any, group: str, reason: str, report: IndexReport, out: Reporter) -> None:
    relative = group.removeprefix(DOCUMENT_PREFIX)
    report.rejected[relative] = reason
    earlier = len(_existing(collection, group))
    sync_group(collection, group, [], report, None)
    dropped = f" ; ses {earlier} passage(s) précédent(s) sont retirés de l'index" if earlier else ""
    out(f"document ignoré — {reason}{dropped}")


def build_index(settings: Settings, out: Reporter = print, embedder: Any = None, client: Any = None) -> IndexReport:
    """Sync the whole collection; what changed, in one report."""
    from lakehouse.rag.embeddings import load_embedder
    from lakehouse.rag.store import mark_changed, passages_collection

    embedder = embedder or load_embedder(settings)
    collection = passages_collection(settings, embedder, client)
    report = IndexReport()
    index_tables(settings, collection, embedder, report, out)
    index_dbt_docs(collection, embedder, report, out)
    index_documents(settings, collection, embedder, report, out)
    if report.added or report.deleted or report.updated:
        mark_changed(settings)
    return report
