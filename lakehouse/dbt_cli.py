"""dbt's own command line as the project runs it (`python -m lakehouse.dbt_cli build ...`): PyHive reads
the Thrift server's empty replies first (`lakehouse.core.thrift_replies`), then dbt runs as `dbt` would.
"""

from __future__ import annotations

import sys

from lakehouse.core.thrift_replies import read_empty_replies


def main() -> None:
    read_empty_replies()
    from dbt.cli.main import cli

    sys.argv[0] = "dbt"
    cli()


if __name__ == "__main__":
    main()
