"""`python -m bench [NAME ...]`: run all benchmarks, or the named ones."""

from __future__ import annotations

import signal
import sys

from bench.cluster_benchmarks import BENCHMARKS as CLUSTER_BENCHMARKS
from bench.dbt_benchmarks import BENCHMARKS as DBT_BENCHMARKS
from bench.ingest_benchmarks import BENCHMARKS as INGEST_BENCHMARKS
from bench.maintenance_benchmarks import BENCHMARKS as MAINTENANCE_BENCHMARKS
from bench.quality_benchmarks import BENCHMARKS as QUALITY_BENCHMARKS
from bench.rag_benchmarks import BENCHMARKS as RAG_BENCHMARKS
from bench.read_benchmarks import BENCHMARKS as READ_BENCHMARKS
from bench.register_benchmarks import BENCHMARKS as REGISTER_BENCHMARKS
from bench.run_benchmarks import BENCHMARKS as RUN_BENCHMARKS
from bench.runner import run_benchmarks
from bench.scale_benchmarks import BENCHMARKS as SCALE_BENCHMARKS
from bench.serve_benchmarks import BENCHMARKS as SERVE_BENCHMARKS
from bench.stack_benchmarks import BENCHMARKS as STACK_BENCHMARKS

BENCHMARKS = (
    STACK_BENCHMARKS
    + INGEST_BENCHMARKS
    + REGISTER_BENCHMARKS
    + DBT_BENCHMARKS
    + MAINTENANCE_BENCHMARKS
    + QUALITY_BENCHMARKS
    + READ_BENCHMARKS
    + RAG_BENCHMARKS
    + RUN_BENCHMARKS
    + SCALE_BENCHMARKS
    + CLUSTER_BENCHMARKS
    + SERVE_BENCHMARKS
)


def main(names: list[str]) -> int:
    known = {benchmark.name: benchmark for benchmark in BENCHMARKS}
    unknown = [name for name in names if name not in known]
    if unknown:
        print(f"ERREUR : benchmark inconnu {', '.join(unknown)} (connus : {', '.join(known)})", file=sys.stderr)
        return 1
    return run_benchmarks([known[name] for name in names] if names else BENCHMARKS)


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # so that every benchmark stops its throwaway stack on SIGTERM too


signal.signal(signal.SIGTERM, _interrupt)
sys.exit(main(sys.argv[1:]))
