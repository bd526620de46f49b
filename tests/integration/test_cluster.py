"""The same jobs on a Spark standalone cluster (1 master, 2 workers on this host): registration, dbt build and
maintenance run their tasks on the workers' executors, and build the same tables as local mode.

A throwaway stack whose LAKEHOUSE_SPARK_MASTER is its own cluster (`make up` starts the cluster before the
Thrift server) runs `make run`'s step stack, gets a copy of the files landed on the fault suite's stack,
then runs register, dbt-build and maintain. The reference is the fault suite's lake (`recovered_lake`):
the same landed files, registered and built in local mode by a `make run` killed in every step.
Every table must hold the same rows in both, apart from the columns that record when and in which batch a
row was registered (they differ between any two runs).
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request

import pytest

from lakehouse import stack
from lakehouse.core import jars, spark_conf
from lakehouse.core.clients import iceberg_catalog, s3_client
from lakehouse.core.settings import load_settings
from lakehouse.run_report import last_run
from lakehouse.services import ThriftServer
from lakehouse.services.spark_cluster import SparkMaster, SparkWorker, master_url
from lakehouse_dev.sandbox import write_sandbox_env
from tests.cli_runner import run_cli
from tests.lake_tables import table_rows
from tests.lakehouse_run import python_process
from tests.stacks import TEST_STACK_SETTINGS, eager_maintenance_policy

pytestmark = pytest.mark.integration

WORKERS = 2
SPARK_STEPS = ("register", "dbt-build", "maintain")


def _stack(tmp_path_factory, name: str, port_base: int, **extra: str):
    folder = tmp_path_factory.mktemp(name)
    # maintenance due on a new lake (the shipped policy has none for young tables): maintain must run tasks
    policy = str(eager_maintenance_policy(folder))
    env_file = write_sandbox_env(folder, port_base, **TEST_STACK_SETTINGS, LAKEHOUSE_MAINTENANCE_POLICY=policy, **extra)
    settings = load_settings(environ={}, env_file=env_file)
    spark_conf.write_rendered(settings, jars.resolve_jars(settings, progress=lambda _: None))
    return env_file, settings


def _start_steps(env_file, steps: tuple[str, ...]) -> subprocess.Popen:
    """`make run` restricted to some steps, in a process of its own (its Spark session is the stack's)."""
    code = (
        "from lakehouse import pipeline; from lakehouse.core.settings import load_settings; "
        f"pipeline.run_pipeline(load_settings(), [s for s in pipeline.STEPS if s.name in {steps!r}])"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_ENV_FILE"] = str(env_file)
    return python_process(code, env, merge_stderr=False)


def _finished(process: subprocess.Popen) -> str:
    stdout, stderr = process.communicate(timeout=900)
    assert process.returncode == 0, stdout[-4000:] + stderr[-4000:]
    return stdout


def _copy_landing(source_settings, target_settings) -> None:
    source, target = s3_client(source_settings), s3_client(target_settings)
    for page in source.get_paginator("list_objects_v2").paginate(Bucket=source_settings.landing_bucket):
        for item in page.get("Contents", []):
            body = source.get_object(Bucket=source_settings.landing_bucket, Key=item["Key"])["Body"].read()
            target.put_object(Bucket=target_settings.landing_bucket, Key=item["Key"], Body=body)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, recovered_lake):
    """The cluster's stack registers and builds the files landed on the fault suite's stack, whose lake,
    built in local mode through a `make run` killed in every step, is the reference (its rows only)."""
    env_file, settings = _stack(
        tmp_path_factory,
        "cluster",
        22050,
        LAKEHOUSE_SPARK_UI_ENABLED="true",
        LAKEHOUSE_SPARK_WORKERS=str(WORKERS),
        LAKEHOUSE_AUDIT="false",
    )
    settings = settings.with_values(LAKEHOUSE_SPARK_MASTER=master_url(settings))
    with env_file.open("a") as handle:
        handle.write(f"LAKEHOUSE_SPARK_MASTER={master_url(settings)}\n")
    processes: list[subprocess.Popen] = []
    try:
        processes.append(_start_steps(env_file, ("stack",)))
        started = _finished(processes[-1])
        _copy_landing(recovered_lake.settings, settings)
        processes.append(_start_steps(env_file, SPARK_STEPS))
        stdout = started + _finished(processes[1])
        yield {"env_file": env_file, "settings": settings, "stdout": stdout}, recovered_lake.settings
    finally:
        for process in processes:  # a run that timed out is still running
            if process.poll() is None:
                process.kill()
                process.communicate()
        stack.down(settings, progress=lambda _: None)


@pytest.fixture(scope="module")
def cluster_run(runs):
    return runs[0]["env_file"], runs[0]["settings"], runs[0]["stdout"]


@pytest.fixture(scope="module")
def local_run(runs):
    return runs[1]


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_make_up_started_the_cluster_and_each_step_ran_its_tasks_on_the_workers_executors(cluster_run):
    _, settings, stdout = cluster_run
    assert "spark-master: démarré" in stdout and "spark-worker-2: démarré" in stdout, stdout
    assert ThriftServer().running_master(settings) == master_url(settings)
    # Settings that no longer designate the cluster: status says the Thrift server runs elsewhere, and why.
    elsewhere = {row.name: row for row in stack.status(settings.with_values(LAKEHOUSE_SPARK_MASTER="local[2]"))}
    assert elsewhere["thrift"].health.startswith(
        f"EN ÉCHEC le serveur Thrift tourne sur {master_url(settings)} alors que LAKEHOUSE_SPARK_MASTER=local[2]"
    ), elsewhere["thrift"]
    assert elsewhere["spark-worker-2"].health.startswith("OK inscrit auprès du master")
    workers = [SparkWorker(index) for index in range(1, WORKERS + 1)]
    # Each worker's own state (its web UI's JSON): the executors it ran, for which application.
    hosted: dict[str, set[tuple[str, str]]] = {}
    for worker in workers:
        state = _get_json(f"http://127.0.0.1:{worker.ui_port(settings)}/json/")
        hosted[worker.name] = {
            (executor["appid"], str(executor["id"])) for executor in state["executors"] + state["finishedexecutors"]
        }
    report = last_run(settings)
    assert report["status"] == "success"
    steps = {step["name"]: step for step in report["steps"]}
    for name in SPARK_STEPS:
        ran = steps[name]["executor_tasks"]
        assert ran, f"{name}: aucune tâche Spark relevée ({steps[name]})"
        for application, executors in ran.items():
            app_id = application.split(" ", 1)[1]
            assert not any(executor.startswith("driver@") for executor in executors), (name, executors)
            for executor in executors:
                executor_id = executor.split("@", 1)[0]
                assert any((app_id, executor_id) in pairs for pairs in hosted.values()), (name, executor, hosted)
    # dbt's work ran on the Thrift server's executors, one on each worker (spark.cores.max 2, 1 core each).
    thrift_app = next(app for app in steps["dbt-build"]["executor_tasks"] if app.startswith("lakehouse-thrift "))
    thrift_id = thrift_app.split(" ", 1)[1]
    assert all(any(app == thrift_id for app, _ in hosted[worker.name]) for worker in workers), hosted
    master = _get_json(f"http://127.0.0.1:{settings.get_int('SPARK_CLUSTER_UI_PORT')}/json/")
    assert sum(worker["state"] == "ALIVE" for worker in master["workers"]) == WORKERS


def test_the_cluster_builds_the_same_tables_as_local_mode(cluster_run, local_run):
    _, cluster_settings, _ = cluster_run
    on_cluster, local = iceberg_catalog(cluster_settings), iceberg_catalog(local_run)
    namespaces = ("bronze", "silver", "gold")
    tables = {namespace: sorted(local.list_tables(namespace)) for namespace in namespaces}
    assert tables == {namespace: sorted(on_cluster.list_tables(namespace)) for namespace in namespaces}
    assert len(tables["gold"]) >= 6 and len(tables["silver"]) >= 3
    for identifiers in tables.values():
        for identifier in identifiers:
            expected = table_rows(local, identifier)
            assert table_rows(on_cluster, identifier) == expected, ".".join(identifier)
            assert sum(expected.values()) > 0 or identifier[1].startswith("rejet") or "rejected" in identifier[1]


def test_cluster_down_stops_the_workers_then_the_master(cluster_run):
    env_file, settings, _ = cluster_run
    processes = [SparkMaster().process(settings)] + [SparkWorker(i).process(settings) for i in (1, 2)]
    assert all(process.state() == "running" for process in processes)
    result = run_cli("cluster-down", env_file=env_file)
    assert result.returncode == 0, result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        "spark-worker-2",
        "spark-worker-1",
        "spark-master",
    ], result.stdout
    assert all(process.state() == "stopped" for process in processes)
