"""What every test stack shares beyond the throwaway settings of `lakehouse_dev.sandbox`."""

from __future__ import annotations

import os
from pathlib import Path

from lakehouse.core.settings import PROJECT_ROOT

# Test stacks live minutes: their Thrift server compiles with C1 alone, as a job's JVM (on 2 cores C2's
# compilations took the CPU of the first dbt builds: 72.6 s → 50.9 s for a first `make run`'s dbt-build).
# Every test stack takes its jars and the JVM class archive built for them from one folder of the checkout:
# the archive (about 45 s to build) is built once, not once per stack, and kept for the next run of the tests.
SHARED_SPARK_RUNTIME = {"LAKEHOUSE_SPARK_RUNTIME_DIR": str(PROJECT_ROOT / ".lakehouse" / "test-runtime")}
# Their JVMs use the parallel collector (LAKEHOUSE_JVM_GC): the suite is CPU-bound on 2 cores and memory is not
# short here; a whole dbt build took 8 to 17 % less CPU of the machine than with G1's lean heap (probe,
# spark/README.md « Ramasse-miettes »).
TEST_STACK_SETTINGS = {"LAKEHOUSE_THRIFT_JVM_C1_ONLY": "true", "LAKEHOUSE_JVM_GC": "parallel", **SHARED_SPARK_RUNTIME}


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


def dbt_target_dir() -> Path:
    """Where the tests' dbt commands write their artifacts: a folder of this pytest process (set by
    `tests/conftest.py`), not dbt/target/, where another pytest process or the developer writes its own."""
    return Path(os.environ["DBT_TARGET_PATH"])
