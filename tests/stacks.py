"""What every test stack shares beyond the throwaway settings of `lakehouse_dev.sandbox`."""

from __future__ import annotations

import os
from pathlib import Path

from lakehouse.core.settings import PROJECT_ROOT

STACK_PORT_BASE = 21000  # the session stack of `pytest` (or of its first worker): ports 21001-21022, +10000 gRPC
WORKER_PORT_STEP = 100  # each further worker of `pytest -n` (pytest-xdist): its own session stack, 100 ports higher
MAX_WORKERS = 5  # gw0 ... gw4 stay below the fault suite's stack (tests/faults/fixtures.py, 21500)

# Test stacks live minutes: their Thrift server compiles with C1 alone, as a job's JVM (on 2 cores C2's
# compilations took the CPU of the first dbt builds: 72.6 s → 50.9 s for a first `make run`'s dbt-build).
TEST_STACK_SETTINGS = {"LAKEHOUSE_THRIFT_JVM_C1_ONLY": "true"}


def eager_maintenance_policy(folder: Path) -> Path:
    """The shipped maintenance policy, but compacting from 2 small files and rewriting from 2 manifests: a
    new lake's tables then have maintenance due (with the shipped one, a young table has none)."""
    shipped = (PROJECT_ROOT / "conf" / "maintenance.toml").read_text(encoding="utf-8")
    eager = shipped.replace("min_input_files = 5", "min_input_files = 2").replace(
        "min_manifests = 10", "min_manifests = 2"
    )
    assert eager.count("= 2\n") >= 2, "conf/maintenance.toml : min_input_files ou min_manifests introuvable"
    path = folder / "maintenance-eager.toml"
    path.write_text(eager, encoding="utf-8")
    return path


def session_port_base(worker: str | None = None) -> int:
    """The port base of this pytest process's session stack: each pytest-xdist worker (gw0, gw1, ...) has its
    own stack, so that two workers never share a service."""
    worker = worker if worker is not None else os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw"))
    if index >= MAX_WORKERS:
        raise RuntimeError(f"au plus {MAX_WORKERS} processus de test (pytest -n {MAX_WORKERS}) : {worker}")
    return STACK_PORT_BASE + WORKER_PORT_STEP * index


def dbt_target_dir() -> Path:
    """Where the tests' dbt commands write their artifacts: a folder of this pytest process (set by
    `tests/conftest.py`), not dbt/target/, where another pytest process or the developer writes its own."""
    return Path(os.environ["DBT_TARGET_PATH"])
