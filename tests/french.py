"""What the tests check in every figure a user reads: French notation (`lakehouse.core.numbers`)."""

from __future__ import annotations

import re

ENGLISH_THOUSANDS = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?![\d,])")  # « 1,135 », « 20,000 »
# « 16.4 s », « 3.26 % », a decimal point in a table cell (« │ 77.42 »)
DECIMAL_POINT = re.compile(r"(?<![\w.])\d+\.\d+ ?(?:s|ms|%|Mo|Go|Ko|o|j|h|enr\./s|lignes/s)(?!\w)|│ +-?\d+\.\d+(?: |$)")


def assert_french_numbers(output: str) -> None:
    """Every figure of `output` is French: no « 1,135 » (a French reader reads 1.135) and no « 16.4 s »."""
    for line in output.splitlines():
        assert not ENGLISH_THOUSANDS.search(line) and not DECIMAL_POINT.search(line), line
