"""Passages of the documentation: dbt model and column descriptions, and the documents users drop.

- dbt: one passage per model (its description) and one per documented column (its description,
  with the model it belongs to), read from the YAML files of `dbt/models/` (`{{ doc('x') }}`
  resolved from the `{% docs %}` blocks), so no dbt run is needed.
- documents: Markdown, plain text and PDF files of the documents folder (`LAKEHOUSE_RAG_DOCUMENTS_DIR`),
  cut into chunks of about `CHUNK_CHARS` characters that overlap by `OVERLAP_CHARS`, on paragraph then
  sentence boundaries; metadata: the file (relative path) and, for a PDF, the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.rag.gold_passages import Passage

CHUNK_CHARS = 900
OVERLAP_CHARS = 150
DOCUMENT_SUFFIXES = (".md", ".markdown", ".txt", ".pdf")
_DOCS_BLOCK = re.compile(r"{%\s*docs\s+(\w+)\s*%}(.*?){%\s*enddocs\s*%}", re.S)
_DOC_CALL = re.compile(r"{{\s*doc\(\s*['\"](\w+)['\"]\s*\)\s*}}")


class DocumentError(LakehouseError):
    """A document of the folder cannot be read; the message names it."""


# -- dbt ------------------------------------------------------------------------------------
def _docs_blocks(models_dir: Path) -> dict[str, str]:
    blocks: dict[str, str] = {}
    for path in sorted(models_dir.rglob("*.md")):
        for name, body in _DOCS_BLOCK.findall(path.read_text(encoding="utf-8")):
            blocks[name] = " ".join(body.split())
    return blocks


def _resolve(text: str, blocks: dict[str, str]) -> str:
    return " ".join(_DOC_CALL.sub(lambda m: blocks.get(m.group(1), m.group(0)), str(text or "")).split())


def dbt_passages(models_dir: Path) -> Iterator[Passage]:
    """One passage per documented model and per documented column of the dbt project."""
    import yaml

    blocks = _docs_blocks(models_dir)
    for path in sorted(models_dir.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        relative = path.relative_to(models_dir.parent).as_posix()
        for model in document.get("models") or []:
            name, description = model["name"], _resolve(model.get("description", ""), blocks)
            layer = "silver" if "/silver/" in relative else "gold" if "/gold/" in relative else "intermédiaire"
            meta = {"kind": "dbt", "source": relative, "model": name}
            if description:
                yield Passage(f"Modèle dbt {name} (couche {layer}) : {description}", {**meta, "column": ""})
            for column in model.get("columns") or []:
                text = _resolve(column.get("description", ""), blocks)
                if text:
                    yield Passage(
                        f"Colonne {column['name']} du modèle {name} (couche {layer}) : {text}",
                        {**meta, "column": column["name"]},
                    )


# -- documents ------------------------------------------------------------------------------
def chunks(text: str, size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[str]:
    """Pieces of at most about `size` characters, cut at paragraph or sentence ends, each starting with
    the last `overlap` characters (whole sentences when possible) of the one before."""
    units: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        if len(paragraph) <= size:
            units.append(paragraph)
            continue
        sentences = re.split(r"(?<=[.!?;:])\s+", paragraph)
        for sentence in sentences:
            while len(sentence) > size:  # one very long sentence: cut it on a space
                cut = sentence.rfind(" ", 0, size)
                cut = cut if cut > size // 2 else size
                units.append(sentence[:cut])
                sentence = sentence[cut:].strip()
            if sentence:
                units.append(sentence)
    pieces: list[str] = []
    current = ""
    for unit in units:
        if current and len(current) + 1 + len(unit) > size:
            pieces.append(current)
            tail = current[-overlap:]
            start = tail.find(" ")
            current = (tail[start + 1 :] if start >= 0 else tail) + " " + unit
        else:
            current = f"{current} {unit}".strip()
    if current:
        pieces.append(current)
    return pieces


def _pages(path: Path) -> Iterator[tuple[int | None, str]]:
    """(page number or None, text) of a document."""
    if path.suffix.lower() == ".pdf":
        from pypdf import PdfReader

        try:
            reader = PdfReader(str(path))
            for number, page in enumerate(reader.pages, start=1):
                yield number, page.extract_text() or ""
        except Exception as error:  # pypdf raises many types for a damaged file
            raise DocumentError(
                f"{path.name} : PDF illisible ({first_line(error)}) ; remplacez-le ou retirez-le du dossier"
            ) from None
        return
    try:
        yield None, path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DocumentError(f"{path.name} : texte qui n'est pas en UTF-8 ; réenregistrez-le en UTF-8") from None


def document_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in DOCUMENT_SUFFIXES and p.name != "README.md"
    )


def document_passages(folder: Path, path: Path) -> Iterator[Passage]:
    """The chunks of one document, each with its file and page."""
    relative = path.relative_to(folder).as_posix()
    for page, text in _pages(path):
        for index, piece in enumerate(chunks(text)):
            meta = {"kind": "document", "source": relative, "page": page or 0, "chunk": index}
            yield Passage(piece, meta)
