"""Charts of the notebooks as a central bank publishes them: French numbers on the axes, countries in French
order, quarters written « T4 2024 », and under each chart the table and Iceberg snapshot it was drawn from.

Used by `notebooks/02_tableau_de_bord_macroeconomique.ipynb`; matplotlib is imported only by the functions
that draw.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from lakehouse.core.numbers import number


def french_key(name: str) -> str:
    """The sort key of a name in French order: accents do not count first (« Bénin » before « Burkina Faso »),
    case does not count."""
    stripped = "".join(c for c in unicodedata.normalize("NFD", name) if not unicodedata.combining(c))
    return stripped.casefold()


def in_french_order(names: Iterable[str]) -> list[str]:
    return sorted(set(names), key=lambda name: (french_key(name), name))


def quarter_label(annee: int, trimestre: int) -> str:
    """« T4 2024 », as everywhere in the project."""
    return f"T{int(trimestre)} {int(annee)}"


def french_axis(axis: Any, decimals: int = 0, suffix: str = "") -> None:
    """Tick labels of a matplotlib axis (`ax.yaxis`) in French notation: « 1 234,5 »."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _position: number(value, decimals) + suffix))


def source_line(figure: Any, *sources: tuple[str, int | None]) -> None:
    """« Source : lakehouse UEMOA, gold.t (snapshot 123…) » in a strip kept free at the bottom of the figure,
    for each (table, snapshot) drawn; lays the figure out (tight_layout) above it."""
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    cited = " ; ".join(f"{table} (snapshot {snapshot})" for table, snapshot in sources)
    figure.text(0.01, 0.01, f"Source : lakehouse UEMOA, {cited}", fontsize=8, color="dimgray", va="bottom")


def read_current(lake: Any, table: str, sql: str) -> tuple[Any, int | None]:
    """`sql` (which reads `table`) at the table's current snapshot, and that snapshot: what the source line
    cites is exactly what was drawn, even if a run publishes meanwhile."""
    snapshot = lake.load(table).current_snapshot()
    snapshot_id = snapshot.snapshot_id if snapshot else None
    frame = lake.sql(sql, snapshots={table: snapshot_id} if snapshot_id else None)
    return frame, snapshot_id
