"""Fixtures: the private test stack (real SeaweedFS, Thrift server, Spark), started once per session.

The stack uses its own state folder and ports (`lakehouse_dev.sandbox`), so a
developer's running stack is never touched; it is stopped at the end, and the session
fails if one of its processes is still alive.

`make test` runs two pytest processes (pytest-xdist, `-n 2 --dist loadgroup`): each has its own session
stack (`tests.stacks.session_port_base`) and its own dbt target folder, and takes whole units of work: a
module, or every module that shares one lake (`SHARED_LAKES`), the shared lakes first.
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


# Lakes that several modules share (session fixtures), the costliest first, and the modules using each: with
# `pytest -n`, the modules of one lake run in one process, one after the other (the lake is built once), before
# the other modules. A module using one of these fixtures must be listed (checked at collection).
SHARED_LAKES = {
    "recovered_lake": (
        "tests/faults/test_crash_recovery.py",
        "tests/integration/test_cluster.py",
        "tests/integration/test_pipeline.py",
        "tests/integration/test_readme.py",
    ),
    "sample_lake": (
        "tests/integration/test_rag.py",
        "tests/integration/test_usage.py",
        "tests/integration/test_orchestrator.py",
    ),
}
LAKE_OF_MODULE = {module: lake for lake, modules in SHARED_LAKES.items() for module in modules}


def pytest_collection_modifyitems(config, items):
    """Each module of RUN_RIGHT_AFTER moved just after the module it follows (otherwise alphabetical); the
    modules of SHARED_LAKES first, lake by lake. A module using a shared lake that is not listed is refused."""
    for follower, leader in RUN_RIGHT_AFTER.items():
        moved = [item for item in items if item.path.name == follower]
        rest = [item for item in items if item.path.name != follower]
        led = [index for index, item in enumerate(rest) if item.path.name == leader]
        if moved and led:
            items[:] = rest[: led[-1] + 1] + moved + rest[led[-1] + 1 :]
    for item in items:
        module = _module(item.nodeid)
        used = next((lake for lake in SHARED_LAKES if lake in item.fixturenames), None)
        if used is not None and LAKE_OF_MODULE.get(module) != used:
            raise pytest.UsageError(
                f"{module} utilise le lac partagé {used} : ajoutez-le à SHARED_LAKES dans tests/conftest.py "
                "(sinon, avec pytest -n, deux processus construiraient ce lac sur les mêmes ports)"
            )
    rank = {lake: index for index, lake in enumerate(SHARED_LAKES)}
    items.sort(key=lambda item: rank.get(LAKE_OF_MODULE.get(_module(item.nodeid)), len(rank)))  # stable


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup` (`make test`): a unit of work is a module, or every module of one shared lake; units
    go to the processes in collection order (with `--no-loadscope-reorder`), so the shared lakes first."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LakeScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return LAKE_OF_MODULE.get(_module(nodeid), _module(nodeid))

    return LakeScheduling(config, log)


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
