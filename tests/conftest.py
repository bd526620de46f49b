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
from lakehouse_dev.machine import machine_reference, reference_line
from lakehouse_dev.sandbox import write_sandbox_env
from tests.stacks import TEST_STACK_SETTINGS

STACK_PORT_BASE = 21000  # test stack ports 21001-21022 (+10000 for gRPC), shifted per process: lakehouse_dev.sandbox
# The fault suite's stack and the lake it builds through crashes (also the cluster test's reference);
# dbt's adapter test kit (its `project` fixture: a throwaway dbt project and schema per test class);
# the sample lake built once for the modules that read a lake built as a user's would be.
pytest_plugins = ["tests.faults.fixtures", "dbt.tests.fixtures.project", "tests.sample_lake"]
# `make test` runs the modules in parallel processes (pytest-xdist, `--dist loadgroup`): a module runs whole in
# one process. The modules of a group below run in one process, one after the other in this order, before
# the other modules: each takes the lake built once per process (a session fixture) as the one before it
# left it: the fault suite's `recovered_lake`, then the `sample_lake`. The other modules follow, alphabetical.
SHARED_GROUPS = {
    "recovered-lake": ["test_crash_recovery.py", "test_cluster.py", "test_pipeline.py", "test_readme.py"],
    "sample-lake": ["test_rag.py", "test_usage.py", "test_orchestrator.py", "test_whole_file_io.py"],
}


def pytest_report_header(config):
    """The machine's speed when the run starts (`lakehouse_dev.machine`): compare the durations of two runs
    only when their references are close."""
    return reference_line(machine_reference())


def pytest_terminal_summary(terminalreporter, config):
    """The machine's speed again when the run ends (it can change during a run)."""
    if not hasattr(config, "workerinput"):
        terminalreporter.write_line(f"fin de la suite, {reference_line(machine_reference())}")


def pytest_collection_modifyitems(items):
    """The modules of SHARED_GROUPS first, in their order, then the others."""
    order = [module for modules in SHARED_GROUPS.values() for module in modules]
    grouped = sorted((item for item in items if item.path.name in order), key=lambda i: order.index(i.path.name))
    items[:] = grouped + [item for item in items if item.path.name not in order]


def _work_unit(nodeid: str) -> str:
    """A module's path, or the name of its group in SHARED_GROUPS."""
    module = nodeid.split("::", 1)[0]
    name = module.rsplit("/", 1)[-1]
    return next((group for group, modules in SHARED_GROUPS.items() if name in modules), module)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup` (`make test`): each process takes whole units of work, a module or a group of
    SHARED_GROUPS, in collection order (with `--no-loadscope-reorder`). pytest-xdist 3.8's own groups
    (`xdist_group` marks) do nothing under pytest 9: they rename `Item._nodeid`, which pytest 9 no longer reads."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _work_unit(nodeid)

    return GroupScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory):
    """Drop the developer's LAKEHOUSE_* and DBT_* variables so tests see only their own settings; dbt's
    artifacts (manifest, catalog, run results) and logs in folders of this pytest process, not in dbt/target/
    and dbt/logs/, where another pytest process (or the developer) writes its own."""
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
