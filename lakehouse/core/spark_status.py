"""Where Spark ran the work: the tasks of each executor, read from Spark's status REST API (`/api/v1`).

Two applications do the pipeline's Spark work: the Thrift server (dbt's models and tests; its web UI on
LAKEHOUSE_THRIFT_UI_PORT) and the job of `make run` (registration, quality suites, maintenance; the
session of this process). `executor_tasks` reads, for each one that answers, the tasks each executor has
run so far; `make run` takes the difference around each step, so the run report says on which executors
a step's tasks ran (on a cluster: the workers' executors; in local mode: the driver alone).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

from lakehouse.core.settings import Settings

# A driver busy with a step (or a loaded machine: a test suite in two processes) can take seconds to answer;
# a UI that is not there refuses at once. 3 s was seen too short: a step's tasks then went unrecorded.
TIMEOUT_SECONDS = 10.0

# {"<application name> <application id>": {"<executor id>@<host:port>": tasks run}}
ExecutorTasks = dict[str, dict[str, int]]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
        return json.loads(response.read())


def application_tasks(ui_url: str) -> tuple[str, dict[str, int]] | None:
    """("<name> <id>" of the application whose UI is at `ui_url`, its tasks per executor); None if it does
    not answer."""
    try:
        applications = _get(f"{ui_url.rstrip('/')}/api/v1/applications")
        if not applications:
            return None
        application = applications[0]
        executors = _get(f"{ui_url.rstrip('/')}/api/v1/applications/{application['id']}/allexecutors")
    except (urllib.error.URLError, OSError, ValueError, KeyError):
        return None
    tasks = {f"{e['id']}@{e['hostPort']}": int(e["totalTasks"]) for e in executors}
    return f"{application['name']} {application['id']}", tasks


def _this_process_ui() -> str | None:
    """The web UI of the Spark session this process started, if any (without importing pyspark)."""
    if "pyspark.sql" not in sys.modules:
        return None
    session = sys.modules["pyspark.sql"].SparkSession._instantiatedSession
    try:
        return session.sparkContext.uiWebUrl if session is not None else None
    except Exception:  # a stopped context
        return None


def executor_tasks(settings: Settings) -> ExecutorTasks:
    """Tasks per executor of the Thrift server's application and of this process's session (those that
    answer; nothing when the web UIs are off)."""
    if not settings.get_bool("SPARK_UI_ENABLED"):
        return {}
    urls = [f"http://{settings.thrift_host}:{settings.get_int('THRIFT_UI_PORT')}", _this_process_ui()]
    tasks: ExecutorTasks = {}
    for url in urls:
        found = application_tasks(url) if url else None
        if found:
            tasks[found[0]] = found[1]
    return tasks


def tasks_between(before: ExecutorTasks, after: ExecutorTasks) -> ExecutorTasks:
    """The tasks run between two readings, per application and executor (executors with none left out)."""
    delta: ExecutorTasks = {}
    for application, executors in after.items():
        earlier = before.get(application, {})
        ran = {executor: count - earlier.get(executor, 0) for executor, count in executors.items()}
        ran = {executor: count for executor, count in ran.items() if count > 0}
        if ran:
            delta[application] = ran
    return delta
