"""The notebooks' chart helpers (`lakehouse.charts`): French order, French axes, quarters, source lines."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from lakehouse.charts import french_axis, in_french_order, quarter_label, source_line  # noqa: E402
from lakehouse.core.numbers import THOUSANDS  # noqa: E402


def test_countries_sort_in_french_order():
    names = ["Togo", "Burkina Faso", "Sénégal", "Bénin", "Côte d'Ivoire", "Niger", "Mali", "Guinée-Bissau"]
    assert in_french_order(names) == [
        "Bénin",
        "Burkina Faso",
        "Côte d'Ivoire",
        "Guinée-Bissau",
        "Mali",
        "Niger",
        "Sénégal",
        "Togo",
    ]


def test_quarters_are_written_as_everywhere_in_the_project():
    assert quarter_label(2024, 4) == "T4 2024"


def test_axes_speak_french_and_the_source_is_under_the_chart():
    figure, ax = plt.subplots()
    ax.plot([0, 1], [1234.5, 2.5])
    french_axis(ax.yaxis, decimals=1, suffix=" %")
    formatter = ax.yaxis.get_major_formatter()
    assert formatter(1234.5, 0) == f"1{THOUSANDS}234,5 %" and formatter(2.5, 0) == "2,5 %"
    source_line(figure, ("gold.t", 42))
    assert [text.get_text() for text in figure.texts] == ["Source : lakehouse UEMOA, gold.t (snapshot 42)"]
    plt.close(figure)
