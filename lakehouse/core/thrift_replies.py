"""PyHive reading the Spark Thrift Server's reply to a statement that returns nothing.

The Thrift server answers a DDL statement (`alter table ... add columns`, `alter table ... alter column
... comment`, `create temporary view`) with a result set of one `Result` column and no rows, sent as a
row set whose `columns` is absent. PyHive 0.7.0 then fails in `Cursor._fetch_more` with
"'NoneType' object is not iterable": every dbt macro that runs such a statement through `run_query`
failed (`on_schema_change: append_new_columns`, `persist_docs` on columns, the default `unit`
materialization), and so did any `fetchall()` after a DDL statement. `read_empty_replies` makes the
cursor read that reply as no rows, which is what it is. Applied by every PyHive connection of the project
(`clients.hive_connection`), by dbt's command line as the project runs it (`lakehouse.dbt_cli`) and by
the tests that run dbt in their own process (dbt's adapter test kit).
"""

from __future__ import annotations

_PATCHED = "_lakehouse_reads_empty_replies"


def read_empty_replies() -> None:
    """Make PyHive's cursor read a fetch reply without columns as the end of the rows (idempotent)."""
    from pyhive import hive

    if getattr(hive.Cursor, _PATCHED, False):
        return
    fetch_more = hive.Cursor._fetch_more

    def _fetch_more(self) -> None:
        client = self._connection.client
        fetch_results = client.FetchResults

        def fetch_results_without_columns(request):
            response = fetch_results(request)
            if response.results is not None and response.results.columns is None and not response.results.rows:
                response.results.columns = []  # no column values: no rows, and the cursor is finished
            return response

        client.FetchResults = fetch_results_without_columns
        try:
            fetch_more(self)
        finally:
            del client.FetchResults  # back to the client's own method

    hive.Cursor._fetch_more = _fetch_more
    setattr(hive.Cursor, _PATCHED, True)
