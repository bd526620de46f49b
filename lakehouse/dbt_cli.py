"""dbt's own command line as the project runs it (`python -m lakehouse.dbt_cli build ...`): PyHive reads
the Thrift server's empty replies (`lakehouse.core.thrift_replies`) and each dbt thread keeps its Thrift
session from one node to the next (`lakehouse.core.dbt_sessions`), then dbt runs as `dbt` would.
"""

from __future__ import annotations

import sys

from lakehouse.core.dbt_sessions import keep_sessions_open
from lakehouse.core.thrift_replies import read_empty_replies


def main() -> None:
    read_empty_replies()
    keep_sessions_open()
    from dbt.cli.main import cli

    sys.argv[0] = "dbt"
    cli()


if __name__ == "__main__":
    main()
