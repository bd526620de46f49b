"""What `make run` shows of dbt's log: one French line per node finished, dbt's errors as they are."""

from __future__ import annotations

import pytest

from lakehouse.dbt_runner import dbt_line_in_french


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        (
            "02:18:48  55 of 90 OK created sql table model gold.gold_mart_uemoa_external_stability .... [OK in 1.24s]",
            "    dbt 55/90 gold.gold_mart_uemoa_external_stability : construit (1,2 s)",
        ),
        (
            "02:18:47  50 of 90 PASS not_null_gold_mart_uemoa_union_aggregates_annee ...... [PASS in 0.17s]",
            "    dbt 50/90 not_null_gold_mart_uemoa_union_aggregates_annee : réussi (0,2 s)",
        ),
        (
            "02:18:48  61 of 90 FAIL 3 value_between_gold_x ............ [FAIL 3 in 0.50s]",
            "    dbt 61/90 value_between_gold_x : en échec (3 ligne(s) en faute) (0,5 s)",
        ),
        ("02:18:47  52 of 90 START test unique_grain_x .......... [RUN]", None),
        ("02:18:53  Done. PASS=69 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=69", None),
        ("02:18:40  Running with dbt=1.11.16", None),
        ("02:18:53  Runtime Error in model x (models/x.sql)", "    dbt : Runtime Error in model x (models/x.sql)"),
        (  # a pause point of the fault suite (dbt/macros/fault_points.sql)
            "02:18:50  [faute] pause de 30.0 s au point dbt-table-created-x",
            "    dbt : [faute] pause de 30.0 s au point dbt-table-created-x",
        ),
    ],
)
def test_dbt_lines_in_french(line, shown):
    assert dbt_line_in_french(line) == shown
