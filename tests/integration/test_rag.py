"""The semantic search on a real chromadb store, over the real gold of the test stack.

The lake is built as a user's would be: the first vintage landed, registered and built (dbt), then
indexed; then the revised vintage goes through the same steps and the index is brought up to date.
Every network connection other than to 127.0.0.1 is refused in this module's process: nothing may
be downloaded (model weights, telemetry).
"""

from __future__ import annotations

import json
import zlib

import pytest

from lakehouse import pipeline
from lakehouse.core.settings import PROJECT_ROOT, SettingsError
from lakehouse.fast_read import Lake
from lakehouse.rag.ask import answer_question
from lakehouse.rag.embeddings import load_embedder
from lakehouse.rag.gold_passages import THEMES
from lakehouse.rag.indexer import build_index
from lakehouse.rag.store import chroma_client, passages_collection
from lakehouse.rag.vocabulary import french_number
from lakehouse_dev.sandbox import local_chroma_server
from tests.cli_runner import run_cli
from tests.french import assert_french_numbers
from tests.llm_stand_in import running_stand_in
from tests.no_network import refuse_outside_connections
from tests.sample_lake import BUILD_STEPS

pytestmark = pytest.mark.integration

CONVERGENCE = "gold.gold_mart_uemoa_convergence"


@pytest.fixture(scope="module", autouse=True)
def _no_network():
    """Only loopback connections: a download or a telemetry call fails the test that makes it."""
    with pytest.MonkeyPatch.context() as patch:
        refuse_outside_connections(patch)
        yield


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text layer holds `lines` (Helvetica, WinAnsi: French accents included)."""
    escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
    text = "BT /F1 11 Tf 50 780 Td 14 TL " + " ".join(f"({line}) '" for line in escaped) + " ET"
    stream = zlib.compress(text.encode("cp1252"))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    body, offsets = b"%PDF-1.4\n", []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return body + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


@pytest.fixture(scope="module")
def rag_lake(sample_lake, tmp_path_factory):
    """The session's sample lake (first vintage built), with a documents folder of the module's own."""
    documents = tmp_path_factory.mktemp("documents")
    for note in (PROJECT_ROOT / "documents").glob("*.md"):
        (documents / note.name).write_bytes(note.read_bytes())
    return sample_lake.with_values(LAKEHOUSE_RAG_DOCUMENTS_DIR=str(documents))


@pytest.fixture(scope="module")
def embedder(rag_lake):
    """The sandbox's model (`use-multilingual`, fast to index); the default model has its own tests."""
    return load_embedder(rag_lake)


def _collection(settings, embedder):
    return passages_collection(settings, embedder, chroma_client(settings))


def _rows_with_figures(settings, theme) -> int:
    """Rows that state at least one figure (a ratio over 4 quarters is null in the first 3 quarters)."""
    rows = Lake(settings).table(theme.table, columns=theme.columns).to_pylist()
    return sum(any(row[m.column] is not None for m in theme.measures) for row in rows)


def test_indexing_twice_changes_nothing(rag_lake, embedder):
    first = build_index(rag_lake, out=lambda _: None, embedder=embedder)
    assert first.added > 0 and not first.missing_tables
    collection = _collection(rag_lake, embedder)
    for theme in THEMES:  # one passage per row that states a figure, in every table
        found = collection.get(where={"group": theme.table}, include=[])
        assert len(found["ids"]) == _rows_with_figures(rag_lake, theme), theme.table
    assert collection.get(where={"kind": "dbt"}, include=[])["ids"]
    assert collection.get(where={"kind": "document"}, include=[])["ids"]
    count = collection.count()

    second = build_index(rag_lake, out=lambda _: None, embedder=embedder)
    assert (second.added, second.deleted, second.updated, second.changed_groups) == (0, 0, 0, [])
    assert collection.count() == count


def test_ask_gives_the_gold_figure_with_its_table_and_snapshot(rag_lake, embedder):
    build_index(rag_lake, out=lambda _: None, embedder=embedder)
    lake = Lake(rag_lake)
    [row] = lake.table(CONVERGENCE, where="pays = 'NER' and annee = 2022").to_pylist()
    snapshot = str(lake.load(CONVERGENCE).current_snapshot().snapshot_id)

    body = answer_question(
        "Le Niger a-t-il respecté le critère d'inflation en 2022 ?", lake, _collection(rag_lake, embedder)
    )
    [figure] = body["figures"]
    assert figure["texte"].startswith(f"{french_number(row['inflation_moyenne_pct'])} %")
    assert ("critère respecté" if row["critere_inflation_respecte"] else "critère non respecté") in figure["texte"]
    assert (figure["table"], figure["snapshot"]) == (CONVERGENCE, snapshot)
    # the figure's parts are fields a program reads (make ask FORMAT=json)
    assert (figure["pays"], figure["annee"], figure["trimestre"]) == ("NER", 2022, None)
    assert (figure["colonne"], figure["unite"]) == ("inflation_moyenne_pct", "%")
    assert figure["valeur"] == float(round(row["inflation_moyenne_pct"], 2))
    scores = [passage["score"] for passage in body["passages"]]
    assert scores == sorted(scores, reverse=True)
    top = body["passages"][0]
    assert top["metadata"]["source"] == CONVERGENCE and top["metadata"]["pays"] == "NER"
    assert top["metadata"]["annee"] == 2022 and f"snapshot {snapshot}" in top["source"]

    outside = answer_question("Quelle est l'inflation du Ghana en 1990 ?", lake, _collection(rag_lake, embedder))
    assert outside["figures"] == []
    assert "Le lac ne couvre pas Ghana" in outside["answer"] and "l'année 1990" in outside["answer"]
    # no row of another country passed off as an answer about Ghana
    assert not [p for p in outside["passages"] if p["metadata"]["kind"] in ("gold", "silver")], outside["passages"]


def test_make_ask_prints_the_answer_and_json(rag_lake, embedder):
    build_index(rag_lake, out=lambda _: None, embedder=embedder)
    keys = {k: rag_lake.get(k) for k in ("LAKEHOUSE_RAG_DOCUMENTS_DIR", "LAKEHOUSE_LANDING_BUCKET")}
    try:
        run_cli("down", "sql")  # the first question starts the warm server: its notice must not spoil the JSON
        result = run_cli("ask", "croissance du senegal au troisieme trimestre 2023", "--format", "json", **keys)
        assert result.returncode == 0, result.stderr
        body = json.loads(result.stdout)
        assert set(body) == {"question", "answer", "figures", "passages"}
        growth = [f for f in body["figures"] if f["colonne"] == "pib_reel_yoy_pct"]
        assert [(f["pays"], f["annee"], f["trimestre"], f["unite"]) for f in growth] == [("SEN", 2023, 3, "%")]
        assert isinstance(growth[0]["valeur"], float) and growth[0]["snapshot"].isdigit()
        assert {"text", "source", "metadata", "score"} <= set(body["passages"][0])
        assert body["passages"][0]["metadata"]["pays"] == "SEN"
        text = run_cli("ask", "Quelle a été la croissance du Sénégal au T3 2023 ?", **keys)
        assert text.returncode == 0, text.stderr
        assert "gold.gold_kpi_uemoa_growth_yoy, snapshot" in text.stdout and "Passages :" in text.stdout
        assert_french_numbers(text.stdout)  # figures, scores and the time
        empty = run_cli("ask", "", **keys)
        assert empty.returncode == 1 and "question vide" in empty.stderr
    finally:
        run_cli("down", "sql")


def _first_source_cited(body: dict) -> str:
    """What the stand-in model answers: the first numbered source, cited."""
    user = body["messages"][-1]["content"]
    first = next(line for line in user.splitlines() if line.startswith("[1] "))
    return f"D'après la source [1] : {first.split(') ', 1)[1]}"


def test_make_ask_with_a_generator_prints_its_synthesis_and_quotes_its_sources(rag_lake, embedder):
    build_index(rag_lake, out=lambda _: None, embedder=embedder)
    keys = {k: rag_lake.get(k) for k in ("LAKEHOUSE_RAG_DOCUMENTS_DIR", "LAKEHOUSE_LANDING_BUCKET")}
    try:
        with running_stand_in() as model:
            model.reply = _first_source_cited
            text = run_cli(
                "ask", "Le Niger a-t-il respecté le critère d'inflation en 2022 ?", LAKEHOUSE_LLM_URL=model.url, **keys
            )
            assert text.returncode == 0, text.stderr
            assert len(model.requests) == 1
            assert "Synthèse (générée par le modèle, sur les sources citées) :" in text.stdout
            assert f"[1] {CONVERGENCE}, snapshot " in text.stdout  # the figure quoted with its table and snapshot

            model.reply = "L'inflation du Niger est de 99,99 % [1]."
            invented = run_cli("ask", "Inflation du Niger en 2022 ?", LAKEHOUSE_LLM_URL=model.url, **keys)
            assert invented.returncode == 0, invented.stderr
            assert model.reply not in invented.stdout and "Synthèse" not in invented.stdout
            assert "synthèse générée écartée : elle écrit le nombre 99,99, absent des sources" in invented.stdout
    finally:
        run_cli("down", "sql")


def test_a_dropped_pdf_becomes_searchable_and_leaves_when_removed(rag_lake, embedder):
    from lakehouse.rag.indexer import documents_dir

    folder = documents_dir(rag_lake)
    pdf = folder / "note_conjoncture.pdf"
    pdf.write_bytes(_pdf(["Note de conjoncture.", "Le cours du cajou a baissé de 12 % à Bissau en 2024."]))
    report = build_index(rag_lake, out=lambda _: None, embedder=embedder)
    assert "document:note_conjoncture.pdf" in report.changed_groups
    collection = _collection(rag_lake, embedder)
    found = collection.query(query_texts=["prix de la noix de cajou"], n_results=1, where={"kind": "document"})
    assert found["metadatas"][0][0]["source"] == "note_conjoncture.pdf"
    assert found["metadatas"][0][0]["page"] == 1
    assert "cajou a baissé de 12 %" in found["documents"][0][0]

    pdf.unlink()
    report = build_index(rag_lake, out=lambda _: None, embedder=embedder)
    assert report.deleted >= 1
    assert not collection.get(where={"source": "note_conjoncture.pdf"}, include=[])["ids"]


def test_unreadable_documents_are_skipped_with_their_reason_and_the_rest_is_indexed(rag_lake, embedder):
    from lakehouse.rag.indexer import documents_dir

    folder = documents_dir(rag_lake)
    good = folder / "bulletin.pdf"
    good.write_bytes(_pdf(["Bulletin mensuel.", "Le fret maritime a augmenté de 7 % au port de Lomé en 2023."]))
    build_index(rag_lake, out=lambda _: None, embedder=embedder)
    collection = _collection(rag_lake, embedder)
    assert collection.get(where={"source": "bulletin.pdf"}, include=[])["ids"]

    good.write_bytes(_pdf(["Bulletin mensuel."])[:200])  # the same file, now truncated
    (folder / "latin1.txt").write_bytes("Note sur l'épargne des ménages.".encode("latin-1"))
    (folder / "scan.pdf").write_bytes(_pdf([]))  # a PDF with no text layer, as a scan would be
    (folder / "nouvelle_note.md").write_text("Le taux directeur de la BCEAO guide le crédit bancaire.\n")
    lines: list[str] = []
    try:
        report = build_index(rag_lake, out=lines.append, embedder=embedder)
    finally:
        for name in ("bulletin.pdf", "latin1.txt", "scan.pdf", "nouvelle_note.md"):
            (folder / name).unlink()
    assert set(report.rejected) == {"bulletin.pdf", "latin1.txt", "scan.pdf"}
    assert "PDF illisible" in report.rejected["bulletin.pdf"]
    assert "UTF-8" in report.rejected["latin1.txt"]
    assert "aucun texte lisible" in report.rejected["scan.pdf"]
    assert any("bulletin.pdf" in line and "retirés de l'index" in line for line in lines), lines
    assert "3 document(s) ignoré(s)" in report.line()
    assert not collection.get(where={"source": "bulletin.pdf"}, include=[])["ids"]
    assert collection.get(where={"source": "nouvelle_note.md"}, include=[])["ids"]  # the rest went on
    build_index(rag_lake, out=lambda _: None, embedder=embedder)  # folder back as it was
    assert not collection.get(where={"source": "nouvelle_note.md"}, include=[])["ids"]


def test_a_local_chroma_server_started_by_up_serves_the_index(rag_lake, embedder):
    from lakehouse import stack

    served = rag_lake.with_values(**local_chroma_server(rag_lake))
    lines: list[str] = []
    stack.up(served, progress=lines.append)  # `make up`: the configured chroma server with the rest
    try:
        assert any(line.startswith("chroma: démarré en") for line in lines), lines
        row = {r.name: r for r in stack.status(served)}["chroma"]
        assert row.state == "running" and row.health.startswith("OK") and not row.on_demand
        report = build_index(served, out=lambda _: None, embedder=embedder)
        assert report.added > 0
        body = answer_question("Inflation du Niger en 2022 ?", Lake(served), _collection(served, embedder))
        assert body["figures"] and body["passages"][0]["metadata"]["pays"] == "NER"
        assert (served.state_dir / "chroma-server").is_dir()
    finally:
        stack.down(served, ["chroma"], progress=lambda _: None)
    assert {r.name: r for r in stack.status(rag_lake)}["chroma"].health.startswith("non démarré par make up")
    with pytest.raises(SettingsError, match="LAKEHOUSE_CHROMA_URL=http://127.0.0.1:<port>"):
        stack.up(rag_lake.with_values(LAKEHOUSE_CHROMA_LOCAL_SERVER="true"), ["chroma"])


def test_a_revised_vintage_changes_the_affected_passages_and_figures(rag_lake, embedder):
    build_index(rag_lake, out=lambda _: None, embedder=embedder)
    collection = _collection(rag_lake, embedder)
    before = collection.get(where={"group": CONVERGENCE}, include=["documents", "metadatas"])
    old_texts = dict(zip(before["ids"], before["documents"], strict=True))

    pipeline.run_pipeline(rag_lake.with_values(LAKEHOUSE_STANDIN_VINTAGE="2"), BUILD_STEPS, out=lambda _: None)
    report = build_index(rag_lake, out=lambda _: None, embedder=embedder)
    assert CONVERGENCE in report.changed_groups and report.added > 0 and report.deleted > 0

    lake = Lake(rag_lake)
    snapshot = str(lake.load(CONVERGENCE).current_snapshot().snapshot_id)
    after = collection.get(where={"group": CONVERGENCE}, include=["documents", "metadatas"])
    assert {meta["snapshot_id"] for meta in after["metadatas"]} == {snapshot}  # kept passages cite it too
    new_ids = set(after["ids"]) - set(old_texts)
    assert new_ids and set(after["ids"]) & set(old_texts)  # only the revised rows were rewritten
    rows = {(r["pays"], r["annee"]): r for r in lake.table(CONVERGENCE).to_pylist()}
    assert len(after["ids"]) == len(rows)
    for text, meta in zip(after["documents"], after["metadatas"], strict=True):
        row = rows[(meta["pays"], meta["annee"])]
        for column in ("inflation_moyenne_pct", "dette_pib_pct", "solde_budgetaire_pib_pct"):
            if row[column] is not None:
                assert f" : {french_number(row[column])} %" in text, (column, text)
