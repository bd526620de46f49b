"""Reading the TOML files of `conf/` (streams, maintenance policy): the file itself, and the keys of a
section, each mistake an error of the caller's type naming the file, the section and the key."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lakehouse.core.errors import LakehouseError


def read_toml(path: Path, error: type[LakehouseError], missing: str) -> dict[str, Any]:
    """The parsed file; `missing` is the message (completed with the path) when it does not exist."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(missing.format(path=path)) from None
    except tomllib.TOMLDecodeError as decode_error:
        raise error(f"{path} : TOML invalide ({decode_error})") from None


def check_keys(
    values: dict[str, Any], known: Iterable[str], where: str, error: type[LakehouseError], complete: bool
) -> None:
    """Refuse a key not in `known` and, when the section must be `complete`, a missing one."""
    known = list(known)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise error(f"{where} : clé inconnue {', '.join(unknown)} (clés possibles : {', '.join(known)})")
    missing = sorted(set(known) - set(values)) if complete else []
    if missing:
        raise error(f"{where} : clé manquante {', '.join(missing)}")
