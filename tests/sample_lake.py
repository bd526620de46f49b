"""The sample lake of the session stack: the stand-in API's first vintage landed, registered and built (the
audited dbt build of `make run`), in a landing bucket and a bronze namespace of its own.

Building it costs a whole dbt build, so the modules that read a lake built as a user's would be share it:
the semantic search (`test_rag`) indexes it, then publishes the revised vintage through it; the usage tests
(`test_usage`), run right after (`tests/conftest.py` orders them), take that lake and bring it to the revised
vintage themselves, which is then nothing left to do; the orchestrator's tests (`test_orchestrator`) give it a
new day of events and a failed check; the whole-file read path (`test_whole_file_io`) reads its silver and gold.
`tests/conftest.py` runs these modules in this order, in one process. Registered as a plugin by `tests/conftest.py`.
"""

from __future__ import annotations

import pytest

from lakehouse import pipeline
from tests.private_lake import private_lake

BUILD_STEPS = [step for step in pipeline.STEPS if step.name in ("stack", "ingest", "register", "dbt-build")]


@pytest.fixture(scope="session")
def sample_lake(running_stack, spark):
    lake = private_lake(running_stack, spark, "sample").with_values(LAKEHOUSE_STANDIN_VINTAGE="1")
    pipeline.run_pipeline(lake, BUILD_STEPS, out=lambda _: None)
    return lake
