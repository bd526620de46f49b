"""`make sql`'s table: numbers on the right, text on the left, French booleans, NULLs shown."""

from __future__ import annotations

from lakehouse.fast_read_cli import format_table


def test_numbers_are_right_aligned_and_text_left_aligned():
    lines = format_table(["pays", "dette_pib_pct", "respecte"], [["SEN", 77.42, False], ["GNB", 8.5, None]], 40)
    assert lines[0] == "pays │ dette_pib_pct │ respecte"
    assert lines[2] == "SEN  │         77,42 │ faux"  # decimal comma
    assert lines[3] == "GNB  │           8,5 │ NULL"


def test_large_numbers_get_thousands_separators_and_rows_are_capped():
    lines = format_table(["pib"], [[45312.654], [1.0], [3.0]], 2)
    assert lines[2] == "45\u202f312,65" and len(lines) == 4  # narrow no-break space, decimal comma
