"""Fixtures: the private test stack (real SeaweedFS, Thrift server, Spark), started once per session.

The stack uses its own state folder and ports (`lakehouse_dev.sandbox`), so a
developer's running stack is never touched; it is stopped at the end, and the session
fails if one of its processes is still alive.
"""

from __future__ import annotations

import os
import shutil

import pytest

from lakehouse import stack
from lakehouse.core import class_archive, jars, spark_conf
from lakehouse.core.settings import load_settings
from lakehouse_dev.sandbox import write_sandbox_env
from tests.stacks import TEST_STACK_SETTINGS

STACK_PORT_BASE = 21000  # test stack ports 21001-21007 (+10000 for gRPC)
# The fault suite's stack and the lake it builds through crashes (also the cluster test's reference);
# dbt's adapter test kit (its `project` fixture: a throwaway dbt project and schema per test class);
# the sample lake built once for the modules that read a lake built as a user's would be.
pytest_plugins = ["tests.faults.fixtures", "dbt.tests.fixtures.project", "tests.sample_lake"]
# Modules run right after another, whose lake they take as it was left (`tests/sample_lake.py`).
RUN_RIGHT_AFTER = {"test_usage.py": "test_rag.py", "test_orchestrator.py": "test_usage.py"}


def pytest_collection_modifyitems(items):
    """Each module of RUN_RIGHT_AFTER moved just after the module it follows (otherwise alphabetical)."""
    for follower, leader in RUN_RIGHT_AFTER.items():
        moved = [item for item in items if item.path.name == follower]
        rest = [item for item in items if item.path.name != follower]
        led = [index for index, item in enumerate(rest) if item.path.name == leader]
        if moved and led:
            items[:] = rest[: led[-1] + 1] + moved + rest[led[-1] + 1 :]


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment():
    """Drop the developer's LAKEHOUSE_* variables so tests see only their own settings."""
    saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("LAKEHOUSE_")}
    yield
    os.environ.update(saved)


@pytest.fixture(scope="session")
def stack_settings(tmp_path_factory, _isolated_environment):
    """Settings of the session's test stack, with its jars resolved (hard links from the user cache) and
    the archive of Spark's classes built for them."""
    folder = tmp_path_factory.mktemp("stack")
    env_file = write_sandbox_env(folder, STACK_PORT_BASE, **TEST_STACK_SETTINGS)
    os.environ["LAKEHOUSE_ENV_FILE"] = str(env_file)  # child processes (CLI, beeline) see the same stack
    settings = load_settings()
    paths = jars.resolve_jars(settings, progress=lambda _: None)
    class_archive.ensure_archive(settings, paths, progress=lambda _: None)  # as `make setup` does
    spark_conf.write_rendered(settings, paths)
    yield settings
    os.environ.pop("LAKEHOUSE_ENV_FILE", None)


@pytest.fixture(scope="session")
def running_stack(stack_settings):
    """The real stack: SeaweedFS + REST catalog + Thrift server, healthy."""
    stack.up(stack_settings, progress=lambda _: None)
    yield stack_settings
    processes = [service.process(stack_settings) for service in stack.select_services(None)]
    pids = [p.pid() for p in processes]
    stack.down(stack_settings, progress=lambda _: None)
    alive = [p.name for p in processes if p.state() == "running"]
    assert not alive, f"processes still running after down: {alive} (PIDs {pids})"
    shutil.rmtree(stack_settings.state_dir / "seaweedfs", ignore_errors=True)


@pytest.fixture(scope="session")
def spark(running_stack):
    from lakehouse_spark.session import get_spark

    session = get_spark("tests", settings=running_stack)
    yield session
    session.stop()
