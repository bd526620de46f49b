"""Writers that overlap: one write lock on a machine, the catalog as the authority between machines.

- two registrations started at the same moment from two processes that do not share the lock (two
  machines, or a scheduler beside a person) register every landed file once: the second one's
  transaction is refused by the catalog, and it reads the ledger again;
- two writers on one checkout: the second refuses at once, naming the first, or waits for it with
  LAKEHOUSE_LOCK_WAIT_S; a lock left by a killed writer is taken over and the takeover is said; readers
  never wait.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from lakehouse.core.faults import FAULT_VARIABLE
from lakehouse.core.write_lock import current_holder, write_lock
from lakehouse_spark.reconcile import reconcile
from lakehouse_spark.register import BRANCH_PREFIX
from tests.cli_runner import run_cli
from tests.lakehouse_run import python_process
from tests.landing import indicators, land, users
from tests.private_lake import private_lake

pytestmark = pytest.mark.integration

REGISTER = (
    "from lakehouse.core.settings import load_settings\n"
    "from lakehouse_spark.bronze_job import run_register\n"
    "run_register(load_settings(), ['raw_users', 'indicateurs_economiques_uemoa'])\n"
)


def _python(code: str, **env: str) -> subprocess.Popen:
    """A Python process of the project, with the test stack's settings and `env`, its output captured."""
    return python_process(code, {**os.environ, **env})


def test_two_registrations_at_the_same_moment_register_each_file_once(running_stack, spark, tmp_path):
    lake = private_lake(running_stack, spark, "conc")
    land(lake, "raw_users", users(0, 300), tmp_path, parts=3)
    land(lake, "indicateurs_economiques_uemoa", indicators(2023) + indicators(2024), tmp_path, parts=2)
    env = {
        "LAKEHOUSE_LANDING_BUCKET": lake.landing_bucket,
        "LAKEHOUSE_BRONZE_NAMESPACE": lake.get("BRONZE_NAMESPACE"),
        # Both wait after reading the ledger: each writes its rows while the other has read the same
        # ledger, the worst moment. No write lock is taken: the catalog alone must keep them apart.
        FAULT_VARIABLE: "pause:register-ledger-read:6",
    }
    first, second = _python(REGISTER, **env), _python(REGISTER, **env)
    outputs = [process.communicate(timeout=300)[0] for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], "\n".join(outputs)
    lost = [output for output in outputs if "un autre enregistrement a publié avant celui-ci" in output]
    assert len(lost) == 1, "\n".join(outputs)  # one lost the race, read the ledger again, found nothing new
    assert "rien de celui-ci n'est visible" in lost[0]

    namespace = f"lakehouse.{lake.get('BRONZE_NAMESPACE')}"
    rows = spark.sql(f"SELECT count(*), count(DISTINCT user_id) FROM {namespace}.raw_users").collect()[0]
    assert tuple(rows) == (300, 300)
    assert spark.sql(f"SELECT count(*) FROM {namespace}.indicateurs_economiques_uemoa").collect()[0][0] == 16
    ledger = spark.sql(f"SELECT object_key, count(*) AS n FROM {namespace}.ingestion_ledger GROUP BY 1").collect()
    assert len(ledger) == 5 and all(row.n == 1 for row in ledger)
    for table in ("raw_users", "indicateurs_economiques_uemoa", "ingestion_ledger"):
        left = spark.sql(f"SELECT name FROM {namespace}.{table}.refs WHERE name LIKE '{BRANCH_PREFIX}%'").collect()
        assert not left, (table, left)
    reconcile(spark, lake, ["raw_users", "indicateurs_economiques_uemoa"], out=lambda _: None)


def test_a_second_writer_is_refused_at_once_and_names_the_first(running_stack):
    with write_lock(running_stack, "make run (test)", out=lambda _: None) as holder:
        started = time.monotonic()
        refused = run_cli("register")
        seconds = time.monotonic() - started
        assert refused.returncode == 1
        [line] = [line for line in refused.stderr.splitlines() if line.startswith("ERREUR")]
        assert f"`make run (test)` (PID {holder.pid} sur {holder.host}, depuis le {holder.started} UTC)" in line
        assert "LAKEHOUSE_LOCK_WAIT_S" in line and "Traceback" not in refused.stderr
        assert seconds < 30  # refused at once: the time of starting Python, not of a registration
        # Readers never wait: status shows who writes.
        status = run_cli("status")
        assert f"écriture du lac en cours : `make run (test)` (PID {holder.pid}" in status.stdout


def test_a_writer_waits_with_lock_wait_and_takes_over_a_lock_left_by_a_killed_writer(running_stack, tmp_path):
    holder = _python(
        "import time\n"
        "from lakehouse.core.settings import load_settings\n"
        "from lakehouse.core.write_lock import write_lock\n"
        "with write_lock(load_settings(), 'make maintain'):\n"
        "    print('tenu', flush=True)\n"
        "    time.sleep(600)\n"
    )
    assert holder.stdout.readline().strip() == "tenu"
    assert current_holder(running_stack).pid == holder.pid
    # A second writer waits; the first is killed meanwhile (kill -9): the lock is taken over.
    waiter = _python(
        "from lakehouse.core.settings import load_settings\n"
        "from lakehouse.core.write_lock import write_lock\n"
        "with write_lock(load_settings(), 'make run'):\n"
        "    print('pris', flush=True)\n",
        LAKEHOUSE_LOCK_WAIT_S="60",
    )
    first_line = waiter.stdout.readline()
    assert "attente (au plus 60 s, LAKEHOUSE_LOCK_WAIT_S)" in first_line and "make maintain" in first_line
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    holder.stdout.close()
    rest = waiter.communicate(timeout=60)[0]
    assert waiter.returncode == 0, rest
    assert "verrou d'écriture repris : `make maintain`" in rest and "s'est arrêté sans le rendre" in rest
    assert rest.strip().endswith("pris")
    assert current_holder(running_stack) is None
