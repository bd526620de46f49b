"""dbt keeping one Thrift session per thread for a whole command, instead of one per node.

dbt closes a thread's connection after every node (`BaseConnectionManager.release`), and dbt-spark opens
the next one with a new Thrift session: the server then builds a Spark session for it (a copy of its Hive
and Hadoop configurations) and PyHive runs `USE default` in it. On this project's Thrift server that
cost about 95 ms of its CPU per node, warm (40 sessions of one `select 1` against 40 statements in one
session; probe on 2 cores, not a bench), some 80 nodes a build. `keep_sessions_open` makes `release`
keep the connection: the thread's next node runs in the same session, and dbt closes every session at
the end of the command (`cleanup_all`), as dbt-databricks does with `reuse_connections`.

A session then carries what a node set in it to the next ones on the same thread: the models here set
nothing (dbt-spark's `insert_overwrite` strategy, which sets `spark.sql.sources.partitionOverwriteMode`,
is not used by the project). The audit target's branch (`spark.wap.branch`) is set when a session opens,
the same for every session of a command. Applied by dbt's command line as the project runs it
(`lakehouse.dbt_cli`), not by dbt's adapter test kit, which checks dbt-spark as it is shipped.
"""

from __future__ import annotations

_PATCHED = "_lakehouse_keeps_sessions_open"


def keep_sessions_open() -> None:
    """Make dbt-spark keep each thread's Thrift session between nodes (idempotent)."""
    from dbt.adapters.spark.connections import SparkConnectionManager

    if getattr(SparkConnectionManager, _PATCHED, False):
        return

    def release(self) -> None:
        """Keep the thread's connection open for its next node; a closed one is reopened as before."""

    SparkConnectionManager.release = release
    setattr(SparkConnectionManager, _PATCHED, True)
