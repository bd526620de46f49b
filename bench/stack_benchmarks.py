"""Benchmarks of the stack itself: setup when done, cold start per service, Spark session, Thrift round trip.

Each runs on a throwaway stack (`lakehouse_dev.sandbox`: own folder and ports), never on the
developer's stack.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.runner import Benchmark, Samples
from lakehouse import stack
from lakehouse.core import class_archive, jars, spark_conf
from lakehouse.core.clients import hive_connection
from lakehouse.core.settings import EXAMPLE_FILE, PROJECT_ROOT, Settings, load_settings
from lakehouse_dev.sandbox import sandbox_settings, write_sandbox_env

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PORT_BASE = 22400
MEMORY_SETTINGS = ("LAKEHOUSE_THRIFT_DRIVER_MEMORY", "LAKEHOUSE_SPARK_DRIVER_MEMORY")  # sandbox: 1g


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def setup_when_done() -> Samples:
    command = ["make", "-s", "setup"]
    subprocess.run(command, cwd=PROJECT_ROOT, check=True, capture_output=True)  # make sure it is done
    return {
        "make setup (rien à faire)": [
            _timed(lambda: subprocess.run(command, cwd=PROJECT_ROOT, check=True, capture_output=True))
            for _ in range(RUNS)
        ]
    }


def _provisioned(folder: Path, **extra: str):
    settings = sandbox_settings(folder, PORT_BASE, **extra)
    _setup(settings)
    return settings


def _setup(settings: Settings) -> None:
    """What `make setup` prepares for a stack: its jars, the archive of Spark's classes, its Spark configuration."""
    paths = jars.resolve_jars(settings, progress=lambda _: None)
    class_archive.ensure_archive(settings, paths, progress=lambda _: None)
    spark_conf.write_rendered(settings, paths)


def user_memory() -> dict[str, str]:
    """The Spark heaps of a user's stack (conf/lakehouse.env.example), instead of the sandbox's 1g: for
    the benchmarks whose figures are memory or whose data a 1g heap would not hold."""
    defaults = load_settings(environ={}, env_file=EXAMPLE_FILE)
    return {key: defaults.get(key) for key in MEMORY_SETTINGS}


def provisioned_env_file(folder: Path, port_base: int, **extra: str) -> tuple[Settings, Path]:
    """A throwaway stack's settings file (what a subprocess reads through LAKEHOUSE_ENV_FILE), its
    settings, and what `make setup` prepares (`_setup`)."""
    env_file = write_sandbox_env(folder, port_base, **extra)
    settings = load_settings(environ={}, env_file=env_file)
    _setup(settings)
    return settings, env_file


@contextmanager
def user_stack(prefix: str, port_base: int) -> Iterator[tuple[Settings, Path]]:
    """A throwaway stack with a user's Spark heaps: its settings and its settings file (for subprocesses).
    On exit, its services are stopped, whoever started them, and its folder is removed."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    settings, env_file = provisioned_env_file(folder, port_base, **user_memory())
    try:
        yield settings, env_file
    finally:
        stack.down(settings, progress=lambda _: None)
        shutil.rmtree(folder, ignore_errors=True)


def subprocess_env(env_file: Path, **overrides: str) -> dict[str, str]:
    """The environment of a subprocess on a throwaway stack: none of the shell's LAKEHOUSE_* settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LAKEHOUSE_")}
    return {**env, "LAKEHOUSE_ENV_FILE": str(env_file), **overrides}


def up_cold_start() -> Samples:
    samples: Samples = {"seaweedfs: démarrage à froid → sain": [], "thrift: démarrage à froid → SELECT 1": []}
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory(prefix="bench-up-") as folder:
            settings = _provisioned(Path(folder))
            try:
                samples["seaweedfs: démarrage à froid → sain"].append(
                    _timed(lambda settings=settings: stack.up(settings, ["seaweedfs"], progress=lambda _: None))
                )
                samples["thrift: démarrage à froid → SELECT 1"].append(
                    _timed(lambda settings=settings: stack.up(settings, ["thrift"], progress=lambda _: None))
                )
            finally:
                stack.down(settings, progress=lambda _: None)
    return samples


def spark_session_start() -> Samples:
    """A new Python process that builds the session and runs one Iceberg query (fresh JVM each time)."""
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as folder:
        settings, env_file = provisioned_env_file(Path(folder), PORT_BASE)
        env = subprocess_env(env_file)
        code = (
            "from lakehouse_spark.session import get_spark; s = get_spark('bench');"
            " s.sql('show namespaces').collect(); s.stop()"
        )
        stack.up(settings, ["seaweedfs"], progress=lambda _: None)
        try:
            runs = [
                _timed(lambda: subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True))
                for _ in range(RUNS)
            ]
        finally:
            stack.down(settings, progress=lambda _: None)
    return {"session Spark + show namespaces (nouveau JVM)": runs}


def thrift_round_trip() -> Samples:
    queries = 20
    with tempfile.TemporaryDirectory(prefix="bench-thrift-") as folder:
        settings = _provisioned(Path(folder))
        stack.up(settings, progress=lambda _: None)
        try:
            connection = hive_connection(settings)
            cursor = connection.cursor()

            def select_one():
                cursor.execute("SELECT 1")
                cursor.fetchall()

            select_one()  # warm-up
            warm = [_timed(select_one) for _ in range(queries)]
            connection.close()

            def connect_and_select():
                fresh = hive_connection(settings)
                fresh.cursor().execute("SELECT 1")
                fresh.close()

            fresh = [_timed(connect_and_select) for _ in range(RUNS * 3)]
        finally:
            stack.down(settings, progress=lambda _: None)
    return {"SELECT 1 (connexion ouverte)": warm, "connexion + SELECT 1": fresh}


BENCHMARKS = [
    Benchmark("setup_noop", "`make setup` quand tout est déjà installé", setup_when_done),
    Benchmark("up_cold", "démarrage à froid de chaque service jusqu'à sa sonde de santé", up_cold_start),
    Benchmark("spark_session", "démarrage d'une session Spark sur le catalogue lakehouse", spark_session_start),
    Benchmark("thrift_roundtrip", "aller-retour SQL sur le serveur Thrift (PyHive)", thrift_round_trip),
]
