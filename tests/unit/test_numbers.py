"""One French number format for everything a user reads (`lakehouse.core.numbers`)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lakehouse.core.numbers import THOUSANDS, number, parse, seconds


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (1135.4, 0, f"1{THOUSANDS}135"),
        (20000, 0, f"20{THOUSANDS}000"),
        (16.43, 1, "16,4"),
        (Decimal("3.255"), 2, "3,26"),  # half up, exact for decimals
        (-1234567.891, 2, f"-1{THOUSANDS}234{THOUSANDS}567,89"),
        (0, 2, "0,00"),
        (999, 0, "999"),
        (-0.04, 1, "0,0"),
    ],
)
def test_french_numbers(value, decimals, text):
    assert number(value, decimals) == text
    assert parse(text) == pytest.approx(float(text.replace(THOUSANDS, "").replace(",", ".")))


def test_seconds_and_parse_round_trip():
    assert seconds(140.26) == "140,3 s"
    assert parse(f"1{THOUSANDS}135,5") == 1135.5
    assert parse("1 135,5") == 1135.5
