"""Fixtures: the private test stack (real SeaweedFS, Thrift server, Spark), started once per session.

The stack uses its own state folder and ports (`lakehouse_dev.sandbox`), so a
developer's running stack is never touched; it is stopped at the end, and the session
fails if one of its processes is still alive.

`make test` runs two pytest processes (pytest-xdist, `-n 2 --dist loadgroup`): each has its own session
stack (`tests.stacks.session_port_base`) and its own dbt target folder, and takes whole groups of tests: a
module, or every module that shares one lake (`SHARED_LAKES`), the costliest first.
"""

from __future__ import annotations

import os
import shutil

import pytest

from lakehouse import stack
from lakehouse.core import class_archive, jars, spark_conf
from lakehouse.core.settings import load_settings
from lakehouse_dev.sandbox import write_sandbox_env
from tests.stacks import TEST_STACK_SETTINGS, session_port_base

# The fault suite's stack and the lake it builds through crashes (also the cluster test's reference);
# dbt's adapter test kit (its `project` fixture: a throwaway dbt project and schema per test class);
# the sample lake built once for the modules that read a lake built as a user's would be.
pytest_plugins = ["tests.faults.fixtures", "dbt.tests.fixtures.project", "tests.sample_lake"]
# Modules run right after another, whose lake they take as it was left (`tests/sample_lake.py`).
RUN_RIGHT_AFTER = {"test_usage.py": "test_rag.py", "test_orchestrator.py": "test_usage.py"}


# Lakes that several modules share (session fixtures), the costliest first: with `pytest -n`, the modules
# sharing one run in one process, one after the other (their fixture builds the lake once).
SHARED_LAKES = ("recovered_lake", "sample_lake")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Each module of RUN_RIGHT_AFTER moved just after the module it follows (otherwise alphabetical); then
    each module in its xdist group (the lake it shares, or its own), the groups of SHARED_LAKES first."""
    for follower, leader in RUN_RIGHT_AFTER.items():
        moved = [item for item in items if item.path.name == follower]
        rest = [item for item in items if item.path.name != follower]
        led = [index for index, item in enumerate(rest) if item.path.name == leader]
        if moved and led:
            items[:] = rest[: led[-1] + 1] + moved + rest[led[-1] + 1 :]
    shared = {}
    for item in items:
        lake = next((lake for lake in SHARED_LAKES if lake in item.fixturenames), None)
        if lake is not None:
            shared.setdefault(item.path, lake)
    for item in items:
        group = shared.get(item.path) or item.path.relative_to(config.rootpath).as_posix()
        item.add_marker(pytest.mark.xdist_group(group))
    rank = {lake: index for index, lake in enumerate(SHARED_LAKES)}
    items.sort(key=lambda item: rank.get(shared.get(item.path), len(SHARED_LAKES)))  # stable: order kept within


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory):
    """Drop the developer's LAKEHOUSE_* variables so tests see only their own settings; dbt's artifacts
    (manifest, catalog, run results) and logs in a folder of this pytest process, not in dbt/target/ where
    another pytest process (or the developer) writes its own."""
    saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith(("LAKEHOUSE_", "DBT_"))}
    os.environ["DBT_TARGET_PATH"] = str(tmp_path_factory.mktemp("dbt-target"))
    os.environ["DBT_LOG_PATH"] = str(tmp_path_factory.mktemp("dbt-logs"))
    yield
    for key in ("DBT_TARGET_PATH", "DBT_LOG_PATH"):
        os.environ.pop(key, None)
    os.environ.update(saved)


@pytest.fixture(scope="session")
def stack_settings(tmp_path_factory, _isolated_environment):
    """Settings of the session's test stack, with its jars resolved (hard links from the user cache) and
    the archive of Spark's classes built for them."""
    folder = tmp_path_factory.mktemp("stack")
    env_file = write_sandbox_env(folder, session_port_base(), **TEST_STACK_SETTINGS)
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
