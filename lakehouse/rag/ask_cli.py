"""`make ask` and `make rag-index` on the command line.

`make ask` sends the question to the warm server of `make sql` (started on first use), which keeps
the embedding model and the collection loaded: a question then costs a round trip on 127.0.0.1.
This module stays light on purpose: no chromadb, onnxruntime or pyiceberg here. When the settings ask for
a local chroma server, both commands start it first (as `make up` does).
"""

from __future__ import annotations

import json
import sys

from lakehouse.core.numbers import number
from lakehouse.core.reporting import Reporter, only_news
from lakehouse.core.settings import Settings


def ensure_chroma_server(settings: Settings, out: Reporter = print) -> None:
    """Start the local chroma server first when the settings ask for one (`LAKEHOUSE_CHROMA_LOCAL_SERVER`)."""
    from lakehouse import stack
    from lakehouse.services import ChromaServer

    if ChromaServer().enabled(settings):
        stack.up(settings, ["chroma"], progress=only_news(out))


def run_ask(settings: Settings, question: str, output: str = "text") -> int:
    from lakehouse.fast_read_cli import ask_server
    from lakehouse.rag.ask import format_answer

    ensure_chroma_server(settings, out=lambda line: print(line, file=sys.stderr))
    body = ask_server(settings, {"question": question}, path="/ask")
    if output == "json":
        keep = ("question", "answer", "figures", "passages")
        print(json.dumps({key: body[key] for key in keep}, ensure_ascii=False, indent=2))
        return 0
    for line in format_answer(body):
        print(line)
    print(f"\n({number(body['elapsed_ms'])} ms)")
    return 0


def run_index(settings: Settings, out: Reporter = print) -> int:
    from lakehouse.rag.indexer import build_index

    ensure_chroma_server(settings, out)
    report = build_index(settings, out=out)
    out(f"index : {report.line()}")
    return 0


__all__ = ["ensure_chroma_server", "run_ask", "run_index"]
