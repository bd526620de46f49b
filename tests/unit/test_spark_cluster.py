"""The local Spark cluster's pieces that need no process: which master it is, its workers, task counts."""

from __future__ import annotations

import pytest

from lakehouse import cluster
from lakehouse.core.settings import load_settings
from lakehouse.core.spark_status import tasks_between
from lakehouse.services import ServiceError
from lakehouse.services.spark_cluster import SparkWorker, master_url, uses_local_cluster


def _settings(tmp_path, **environ):
    return load_settings(environ={"LAKEHOUSE_STATE_DIR": str(tmp_path), **environ}, env_file=tmp_path / "absent.env")


def test_the_local_cluster_is_used_only_when_the_master_designates_it(tmp_path):
    settings = _settings(tmp_path)
    assert master_url(settings) == "spark://127.0.0.1:7077"
    assert not uses_local_cluster(settings)
    assert uses_local_cluster(_settings(tmp_path, LAKEHOUSE_SPARK_MASTER="spark://127.0.0.1:7077"))
    assert not uses_local_cluster(_settings(tmp_path, LAKEHOUSE_SPARK_MASTER="spark://autre:7077"))


def test_workers_are_numbered_with_ports_shifted_from_the_settings(tmp_path):
    settings = _settings(tmp_path, LAKEHOUSE_SPARK_WORKER_PORT="7100", LAKEHOUSE_SPARK_WORKER_UI_PORT="8100")
    second = SparkWorker(2)
    assert (second.name, second.rpc_port(settings), second.ui_port(settings)) == ("spark-worker-2", 7101, 8101)
    assert "--port 7101" in second.marker(settings)
    (tmp_path / "run").mkdir()
    for name in ("spark-worker-3.pid", "spark-worker-1.pid", "spark-master.pid", "thrift.pid"):
        (tmp_path / "run" / name).write_text("{}")
    assert [worker.index for worker in cluster.started_workers(settings)] == [1, 3]


def test_a_worker_count_out_of_range_is_refused_with_the_setting_to_change(tmp_path):
    settings = _settings(tmp_path)
    assert cluster.worker_count(settings) == 2
    assert cluster.worker_count(settings, 3) == 3
    with pytest.raises(ServiceError, match="WORKERS="):
        cluster.worker_count(settings, 0)


def test_tasks_between_two_readings_keep_the_executors_that_ran_some():
    before = {"lakehouse-thrift app-1": {"0@h:1": 5, "1@h:2": 7, "driver@h:3": 0}}
    after = {
        "lakehouse-thrift app-1": {"0@h:1": 9, "1@h:2": 7, "driver@h:3": 0},
        "lakehouse-register app-2": {"0@h:4": 3},
    }
    assert tasks_between(before, after) == {
        "lakehouse-thrift app-1": {"0@h:1": 4},
        "lakehouse-register app-2": {"0@h:4": 3},
    }
    assert tasks_between(after, after) == {}
