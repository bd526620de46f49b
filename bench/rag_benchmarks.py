"""Benchmark `rag_search`: the semantic search of `make ask`, each installed embedding model on the same lake.

On a throwaway stack, the sample is landed, registered and built (`dbt build`) once; then for each model
of `lakehouse.rag.embeddings.MODELS`:
- the whole index is built from nothing (gold and silver passages, dbt documentation, documents/), timed:
  passages per second on the sample data;
- the labelled questions of `bench/rag_questions.py` are asked: recall@3 (a relevant passage among the
  3 shown; goal ≥ 0.9) and figure accuracy (the gold cell, as published, among the figures; goal 100 %);
- `make ask` from a new process, its warm server already started, on the default model: median latency
  end to end (goal ≤ 1 s).
Then the index of a 10× corpus (the sample's passages ten times, each copy its own text) is built with the
fast model (`use-multilingual`): the throughput as the corpus grows. With the default model, embedding
costs the same per passage whatever the corpus (its figure on the sample applies; a 10× run would take
about 45 minutes on 2 cores).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.rag_questions import QUESTIONS, is_relevant
from bench.runner import Benchmark, Samples
from bench.stack_benchmarks import _timed, provisioned_env_file, subprocess_env
from lakehouse import stack
from lakehouse.core.settings import PROJECT_ROOT
from lakehouse.dbt_runner import dbt_build
from lakehouse.fast_read import Lake
from lakehouse.rag.ask import answer_question
from lakehouse.rag.embeddings import MODELS, LocalEmbedder
from lakehouse.rag.gold_passages import Passage
from lakehouse.rag.indexer import IndexReport, build_index, sync_group
from lakehouse.rag.store import chroma_client, passages_collection
from lakehouse.rag.vocabulary import french_number

PORT_BASE = 22350
ASKS = int(os.environ.get("BENCH_ASKS", "9"))
DEFAULT_MODEL = "multilingual-e5-small"
FAST_MODEL = "use-multilingual"
_FIGURES: dict[str, float] = {}


def _quality(settings, lake: Lake, collection) -> tuple[float, float]:
    """(recall@3, figure accuracy) over the labelled questions."""
    found = figures_right = figures_asked = 0
    for labelled in QUESTIONS:
        body = answer_question(labelled.question, lake, collection)
        found += any(is_relevant(p["metadata"], labelled.relevant) for p in body["passages"][:3])
        if labelled.figure:
            table, column, key = labelled.figure
            where = " and ".join(f"{k} = '{v}'" if isinstance(v, str) else f"{k} = {v}" for k, v in key.items())
            [row] = lake.table(table, columns=[column], where=where).to_pylist()
            expected = french_number(row[column])
            figures_asked += 1
            figures_right += any(
                f["table"] == table and all(f[k] == v for k, v in key.items()) and f["texte"].startswith(expected)
                for f in body["figures"]
            )
    return found / len(QUESTIONS), figures_right / figures_asked


def _ten_times(settings, embedder) -> tuple[float, int]:
    """(seconds, passages) to index the sample's passages ten times over, in a collection of its own."""
    source = passages_collection(settings, embedder).get(include=["documents", "metadatas"])
    client = chroma_client(settings)
    name = f"bench10x_{embedder.key}"
    collection = client.get_or_create_collection(
        name=name, embedding_function=embedder, configuration={"hnsw": {"space": "cosine"}}
    )
    passages = [
        Passage(f"{text} (copie {copy})", meta)
        for copy in range(10)
        for text, meta in zip(source["documents"], source["metadatas"], strict=True)
    ]
    started = time.perf_counter()
    sync_group(collection, "bench10x", passages, IndexReport(), embedder)
    seconds = time.perf_counter() - started
    client.delete_collection(name)
    return seconds, len(passages)


def rag_search() -> Samples:
    from bench.quality_benchmarks import _land

    folder = Path(tempfile.mkdtemp(prefix="bench-rag-"))
    base, env_file = provisioned_env_file(folder, PORT_BASE)
    samples: Samples = {}
    try:
        stack.up(base, ["seaweedfs", "thrift"], progress=lambda _: None)
        landed, _ = _land(base, 2_000)
        dbt_build(landed)
        lake = Lake(landed)
        for model in MODELS:
            settings = landed.with_values(LAKEHOUSE_RAG_EMBEDDING_MODEL=model)
            embedder = LocalEmbedder(model)
            started = time.perf_counter()
            report = build_index(settings, out=lambda _: None, embedder=embedder)
            samples[f"index complet, {model}"] = [time.perf_counter() - started]
            _FIGURES[f"{model} : passages indexés"] = report.added
            _FIGURES[f"{model} : passages/s (échantillon)"] = report.added / samples[f"index complet, {model}"][0]
            recall, accuracy = _quality(settings, lake, passages_collection(settings, embedder))
            _FIGURES[f"{model} : rappel@3 — objectif ≥ 0,9"] = recall
            _FIGURES[f"{model} : exactitude des chiffres — objectif 1"] = accuracy
            if model == FAST_MODEL:
                seconds, count = _ten_times(settings, embedder)
                samples[f"index 10× ({count} passages), {model}"] = [seconds]
                _FIGURES[f"{model} : passages/s (corpus 10×)"] = count / seconds
        env = subprocess_env(
            env_file,
            LAKEHOUSE_BRONZE_NAMESPACE=landed.get("BRONZE_NAMESPACE"),
            LAKEHOUSE_LANDING_BUCKET=landed.landing_bucket,
            LAKEHOUSE_RAG_EMBEDDING_MODEL=DEFAULT_MODEL,
        )
        command = [sys.executable, "-m", "lakehouse", "ask", "Quelle a été la croissance du Sénégal au T3 2023 ?"]

        def ask() -> None:
            subprocess.run(command, cwd=PROJECT_ROOT, env=env, check=True, capture_output=True)

        samples["make ask, premier appel (démarre le serveur)"] = [_timed(ask)]
        samples["make ask, serveur chaud — objectif ≤ 1 s"] = [_timed(ask) for _ in range(ASKS)]
    finally:
        stack.down(base, progress=lambda _: None)
        shutil.rmtree(folder, ignore_errors=True)
    return samples


def figures(samples: Samples) -> dict[str, float]:
    return dict(_FIGURES)


BENCHMARKS = [
    Benchmark(
        "rag_search",
        f"recherche sémantique : index, rappel@3 et chiffres sur {len(QUESTIONS)} questions étiquetées, par modèle ; "
        "latence de make ask",
        rag_search,
        derive=figures,
    ),
]
