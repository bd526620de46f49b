"""dbt keeping one Thrift session per thread for a whole command, instead of one per node.

dbt closes a thread's connection after every node (`BaseConnectionManager.release`), and dbt-spark opens
the next one with a new Thrift session: the server then builds a Spark session for it (a copy of its Hive
and Hadoop configurations) and PyHive runs `USE default` in it. On this project's Thrift server that
cost about 95 ms of its CPU per node, warm (40 sessions of one `select 1` against 40 statements in one
session; probe on 2 cores, not a bench), some 80 nodes a build. `keep_sessions_open` makes `release`
keep the connection: the thread's next node runs in the same session, and dbt closes every session at
the end of the command (`cleanup_all`), as dbt-databricks does with `reuse_connections`.

dbt-spark takes a new cursor for each statement and leaves the one before open: the server keeps that
statement (its plan, the Iceberg metadata and broadcasts it holds) until the session is closed. With one
session a build, 150 such statements were alive after 50 s of a build, and the session stack of the tests
ran out of Spark memory (a build of 2 minutes took 10, then the server stopped answering). So each
statement is closed when the next one of its session starts, as a closed session did before.

A session then carries what a node set in it to the next ones on the same thread: the models here set
nothing (dbt-spark's `insert_overwrite` strategy, which sets `spark.sql.sources.partitionOverwriteMode`,
is not used by the project). The audit target's branch (`spark.wap.branch`) is set when a session opens,
the same for every session of a command. Applied by dbt's command line as the project runs it
(`lakehouse.dbt_cli`) and by the tests that run dbt in their own process (dbt's adapter test kit).
"""

from __future__ import annotations

_PATCHED = "_lakehouse_keeps_sessions_open"


def keep_sessions_open() -> None:
    """Make dbt-spark keep each thread's Thrift session between nodes (idempotent)."""
    from dbt.adapters.spark.connections import PyhiveConnectionWrapper, SparkConnectionManager

    if getattr(SparkConnectionManager, _PATCHED, False):
        return
    new_cursor = PyhiveConnectionWrapper.cursor

    def release(self) -> None:
        """Keep the thread's connection open for its next node; a closed one is reopened as before."""

    def cursor(self) -> PyhiveConnectionWrapper:
        """Close the statement before this one (its rows are read) and open a cursor for the next."""
        if self._cursor is not None:
            try:
                self._cursor.close()
            except Exception:  # a statement the server already dropped, or a lost connection (the next says so)
                pass
        return new_cursor(self)

    SparkConnectionManager.release = release
    PyhiveConnectionWrapper.cursor = cursor
    setattr(SparkConnectionManager, _PATCHED, True)
