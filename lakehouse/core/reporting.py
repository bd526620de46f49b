"""How long-running work reports progress: a `Reporter` takes one line of French text.

Jobs and orchestration take a `Reporter` argument (default `print`), so a command prints its
progress while tests and benchmarks pass `silent` or a list's `append`.
"""

from __future__ import annotations

from collections.abc import Callable

Reporter = Callable[[str], None]


def silent(_line: str) -> None:
    """A reporter that drops every line."""


def indented(out: Reporter, prefix: str = "    ") -> Reporter:
    """A reporter that prefixes every line (a step's detail under the step's own line)."""
    return lambda line: out(f"{prefix}{line}")


def only_news(out: Reporter) -> Reporter:
    """What a command that needs some services says about them: only what it had to do (start one), not
    « déjà démarré » for each, which `make status` tells."""
    return lambda line: None if "déjà démarré" in line or "déjà présents" in line else out(line)
