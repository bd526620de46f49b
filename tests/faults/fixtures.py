"""The fault suite's stack, and the lake it builds through a `make run` killed or broken in every step.

The fault stack (SeaweedFS, Thrift server, PostgreSQL when installed) is separate from the session stack:
its services are killed on purpose. On it, `recovered_lake` runs one chain of `make run`, each run killed
(SIGKILL) or broken in the step after the one where the previous run stopped, so every run first has to
take over what the previous one left before it can get further:

  ingest killed between the copies of a sync → the registration's JVM killed before it writes → SeaweedFS
  killed during a registration → `make run` killed while dbt builds on the audit branch (an incremental
  table just created, empty) → the Thrift server killed during the build → killed just after the
  publication's catalog transaction → killed after a table's maintenance → after a table's serving copy
  (PostgreSQL installed) → after a batch of the search index → two `make run` started together, with an
  external API serving one new day of events (the doubling of issue 30): one runs to the end, the other
  is refused at once.

The lake it leaves is a local-mode lake built from the stand-in API's data, through every crash: the
cluster test compares its own build of the same landed files with it. Registered as a plugin by
`tests/conftest.py`, so that both the fault suite and the cluster test can use it.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lakehouse import stack
from lakehouse.core import class_archive, jars, spark_conf
from lakehouse.core.settings import Settings, load_settings
from lakehouse.services import service_named
from lakehouse.services.postgres import bin_dir
from lakehouse_dev.api_server import ApiState, start_api_server
from lakehouse_dev.sandbox import write_sandbox_env
from tests.lakehouse_run import LakehouseRun, children, command_line, run_command, still_alive
from tests.stacks import TEST_STACK_SETTINGS, eager_maintenance_policy

FAULT_PORT_BASE = 21500  # ports 21501-21521 (+10000 for SeaweedFS's gRPC)
NEW_DAY_EVENTS = 500  # what the external API serves more, for the last two runs
KILLED = -signal.SIGKILL
PAUSE_BEFORE_WRITE = "pause:register-before-write:10"
HALF_MADE_TABLE = "dbt-table-created-fct_events_enriched"  # a pause point of dbt/macros/fault_points.sql


@dataclass
class Chain:
    settings: Settings
    env_file: Path
    runs: dict[str, LakehouseRun] = field(default_factory=dict)
    seconds_to_fail: dict[str, float] = field(default_factory=dict)  # from the kill of a service to the exit
    killed: dict[str, int] = field(default_factory=dict)  # PID killed in each broken run
    survivors: list[tuple[int, str]] = field(default_factory=list)  # processes of a killed run left alive


@pytest.fixture(scope="session")
def fault_stack(tmp_path_factory, _isolated_environment):
    """Settings and settings file of the fault suite's stack; services stopped at the end."""
    folder = tmp_path_factory.mktemp("faults")
    extra = {}
    postgres_data = None
    if bin_dir(load_settings(environ={}, env_file=folder / "absent.env")) is not None:
        # A folder the `postgres` system user can reach (a test run by root runs the server as that user).
        postgres_data = Path(tempfile.mkdtemp(prefix="lakehouse-faults-pg-", dir="/tmp"))
        postgres_data.chmod(0o755)
        extra = {
            "LAKEHOUSE_POSTGRES_LOCAL": "auto",
            "LAKEHOUSE_SERVE": "auto",
            "LAKEHOUSE_POSTGRES_DATA_DIR": str(postgres_data / "postgres"),
        }
    env_file = write_sandbox_env(folder, FAULT_PORT_BASE, **TEST_STACK_SETTINGS, **extra)
    settings = load_settings(environ={}, env_file=env_file)
    paths = jars.resolve_jars(settings, progress=lambda _: None)
    class_archive.ensure_archive(settings, paths, progress=lambda _: None)
    spark_conf.write_rendered(settings, paths)
    yield settings, env_file
    stack.down(settings, progress=lambda _: None)
    if postgres_data is not None:
        shutil.rmtree(postgres_data, ignore_errors=True)


def _killed_at(chain: Chain, name: str, point: str, **env: str) -> None:
    run = run_command(chain.env_file, "run", LAKEHOUSE_FAULT=f"kill:{point}", **env)
    assert run.process.returncode == KILLED, f"{point} jamais atteint :\n{run.output()[-6000:]}"
    chain.runs[name] = run


def _broken(chain: Chain, name: str, wait_for: str, breaker, **env: str) -> None:
    """A run in which, once `wait_for` is printed, `breaker(run)` kills something; it must fail (exit 1)."""
    run = LakehouseRun(chain.env_file, "run", **env)
    run.wait_for(wait_for, timeout=600)
    chain.killed[name] = breaker(run)
    broken = time.monotonic()
    assert run.finish(timeout=600) == 1, run.output()[-6000:]
    chain.seconds_to_fail[name] = time.monotonic() - broken
    chain.runs[name] = run


def _session(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None


def _kill(pid: int) -> int:
    os.kill(pid, signal.SIGKILL)
    return pid


def _kill_registration_jvm(run: LakehouseRun) -> int:
    [jvm] = [pid for pid in children(run.process.pid) if "java" in command_line(pid)]
    return _kill(jvm)


@pytest.fixture(scope="session")
def recovered_lake(fault_stack) -> Chain:
    settings, env_file = fault_stack
    chain = Chain(settings, env_file)
    _killed_at(chain, "ingest", "ingest-first-copy")
    _broken(chain, "jvm", "[faute] pause", _kill_registration_jvm, LAKEHOUSE_FAULT=PAUSE_BEFORE_WRITE)
    seaweedfs = service_named("seaweedfs").process(settings)
    _broken(
        chain,
        "seaweedfs",
        "[faute] pause",
        lambda _: _kill(seaweedfs.pid()),
        LAKEHOUSE_FAULT=PAUSE_BEFORE_WRITE,
        LAKEHOUSE_SERVICE_TIMEOUT_S="20",
    )

    # kill -9 of `make run` while dbt builds on the audit branch, at the worst moment of a first build:
    # the incremental (and partitioned) fct_events_enriched just created empty, before its branch and rows.
    run = LakehouseRun(env_file, "run", LAKEHOUSE_FAULT=f"pause:{HALF_MADE_TABLE}:30")
    run.wait_for("[faute] pause", timeout=600)
    # The processes of the run's own session: dbt, the job's JVM; not a service it (re)started, which lives on.
    below = {pid: command_line(pid) for pid in children(run.process.pid) if _session(pid) == run.process.pid}
    run.kill()
    assert run.process.returncode == KILLED
    # dbt (and a connector) get SIGKILL with their parent; the job's JVM exits by itself once its Python
    # process is gone, after its shutdown hooks: a minute at most for all of them.
    chain.survivors = [(pid, below[pid][:200]) for pid in still_alive(list(below), timeout=60)]
    chain.runs["dbt"] = run

    thrift = service_named("thrift").process(settings)
    _broken(
        chain,
        "thrift",
        "branche d'audit audit_",
        lambda _: _kill(thrift.pid()),
        LAKEHOUSE_SERVICE_TIMEOUT_S="10",
    )
    _killed_at(chain, "publish", "publish-after-transaction")
    # A new lake's tables have no maintenance due (too young for the orphan search, too few small files):
    # a policy that compacts from 2 small files and rewrites from 2 manifests gives this run work to be killed in.
    _killed_at(
        chain,
        "maintain",
        "maintain-table-done",
        LAKEHOUSE_MAINTENANCE_POLICY=str(eager_maintenance_policy(chain.env_file.parent)),
    )
    if service_named("postgres").enabled(settings):
        _killed_at(chain, "serve", "serve-table-done")
    _killed_at(chain, "rag", "rag-batch-added")
    _two_runs_at_once_with_a_new_day(chain)
    return chain


def _two_runs_at_once_with_a_new_day(chain: Chain) -> None:
    """The doubling of issue 30, replayed: an external API (as in production) serving one new day of events,
    and two `make run` started together. One runs, the other is refused at once."""
    settings = chain.settings
    state = ApiState(
        api_key=settings.get("BCEAO_API_KEY"),
        vintage=settings.get_int("STANDIN_VINTAGE"),
        users=settings.get_int("STANDIN_USERS"),
        events=settings.get_int("STANDIN_EVENTS") + NEW_DAY_EVENTS,
    )
    with start_api_server(state, port=settings.get_int("BCEAO_API_PORT")) as server:
        both = [LakehouseRun(chain.env_file, "run", LAKEHOUSE_BCEAO_API_URL=server.url) for _ in range(2)]
        for run in both:
            run.finish()
    [chain.runs["final"]] = [run for run in both if run.process.returncode == 0] or both[:1]
    chain.runs["refused"] = next(run for run in both if run is not chain.runs["final"])
