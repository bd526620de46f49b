"""Every duration or throughput the README states comes from a bench and says where it was measured: the
paragraph that holds it (or the one just before or after, for a table and its source line) names the bench
(`make bench BENCH=…`, or `.ci/run` for the suite itself) and the machine (its cores). Code blocks and
quoted messages (`…`) are not figures."""

from __future__ import annotations

import re

from lakehouse.core.settings import PROJECT_ROOT

FIGURE = re.compile(r"(?<![\w.])\d+(?:[,\u202f ]\d+)* ?(?:s|ms|min)(?![\w/])|\d+ ?(?:passages|lignes|enr\.)/s")
SOURCE = re.compile(r"BENCH=|make bench|\.ci/run")


def paragraphs(text: str) -> list[str]:
    return re.split(r"\n\s*\n", re.sub(r"```.*?```", "", text, flags=re.S))


def without_quotes(paragraph: str) -> str:
    return re.sub(r"``.*?``|`[^`\n]*`", "", paragraph)


def test_every_readme_figure_names_its_bench_and_machine():
    found = paragraphs((PROJECT_ROOT / "README.md").read_text(encoding="utf-8"))
    unsourced = []
    for index, paragraph in enumerate(found):
        if not FIGURE.search(without_quotes(paragraph)):
            continue
        window = "\n".join(found[max(0, index - 1) : index + 2])
        if not (SOURCE.search(window) and "cœur" in window):
            unsourced.append(paragraph[:300])
    assert not unsourced, "\n---\n".join(unsourced)


def test_the_figure_pattern_sees_durations_and_skips_addresses():
    assert FIGURE.search("un premier make run prend 140,3 s") and FIGURE.search("9 à 15 ms")
    assert not FIGURE.search("spark://hote:7077 ou k8s://") and not FIGURE.search("la version 3.5")
