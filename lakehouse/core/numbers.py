"""Numbers as a French reader reads them, in everything the project prints (CLI lines, `make sql`, `make ask`,
notebooks, chart axes): a narrow no-break space (U+202F) between thousands, a decimal comma.

`number(1135.4)` → « 1 135 », `number(16.43, 1)` → « 16,4 », `seconds(16.43)` → « 16,4 s »,
`number(Decimal("3.255"), 2)` → « 3,26 » (half up, exact for decimals). `parse` reads them back (benches and
tests read the figures of CLI lines with it).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

THOUSANDS = "\u202f"  # espace fine insécable
DECIMAL = ","


def rounded(value: float | int | Decimal, decimals: int = 0) -> Decimal:
    """`value` rounded half up to `decimals` decimals, exactly (a float is read as its shortest repr)."""
    exact = Decimal(str(value)) if not isinstance(value, Decimal) else value
    return exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP) if exact.is_finite() else exact


def number(value: float | int | Decimal, decimals: int = 0) -> str:
    """`value` with `decimals` decimals (half up), thousands apart by a narrow no-break space, decimal comma."""
    amount = rounded(value, decimals)
    if not amount.is_finite():
        return str(value)
    sign = "-" if amount < 0 else ""
    whole, _, fraction = f"{abs(amount):.{decimals}f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return sign + THOUSANDS.join(groups) + (DECIMAL + fraction if fraction else "")


def seconds(value: float) -> str:
    """A duration in seconds, one decimal: « 16,4 s »."""
    return f"{number(value, 1)} s"


def parse(text: str) -> float:
    """The value of a number written by `number` (also with plain or no-break spaces)."""
    cleaned = text.strip().replace(THOUSANDS, "").replace("\u00a0", "").replace(" ", "")
    return float(cleaned.replace(DECIMAL, "."))
