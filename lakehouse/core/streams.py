"""The streams of the lakehouse, declared once in `conf/streams.toml`; this module is its only reader.

    spec = load_streams()["raw_events"]
    spec.bronze_partition   # 'days(occurred_at)'

The file is validated as a whole (unknown or missing keys, types, allowed values) and a
mistake is a `StreamsError` naming the file, the stream and the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

from lakehouse.core.errors import LakehouseError
from lakehouse.core.settings import CONF_DIR
from lakehouse.core.toml_files import check_keys, read_toml

STREAMS_FILE = CONF_DIR / "streams.toml"
REMEMBER_VERSIONS = ("all", "cursor")


class StreamsError(LakehouseError):
    """`conf/streams.toml` cannot be used as written."""


@dataclass(frozen=True)
class StreamSpec:
    name: str
    description: str
    primary_key: tuple[str, ...]
    cursor: str
    version_fields: tuple[str, ...]
    remember_versions: str
    bronze_partition: str | None
    freshness_warn_days: int
    freshness_error_days: int


_KEYS = [f.name for f in fields(StreamSpec) if f.name != "name"]
_LISTS = {"primary_key", "version_fields"}
_INTEGERS = {"freshness_warn_days", "freshness_error_days"}


def _check_value(where: str, key: str, value: object) -> None:
    if key in _LISTS:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise StreamsError(f"{where} : {key} doit être une liste non vide de noms de champs")
    elif key in _INTEGERS:
        if type(value) is not int or value < 1:
            raise StreamsError(f"{where} : {key} = {value!r} doit être un entier positif")
    elif not isinstance(value, str):
        raise StreamsError(f"{where} : {key} = {value!r} doit être une chaîne")


def _spec(path: Path, name: str, values: dict) -> StreamSpec:
    where = f"{path} [streams.{name}]"
    check_keys(values, _KEYS, where, StreamsError, complete=True)
    for key, value in values.items():
        _check_value(where, key, value)
    if values["remember_versions"] not in REMEMBER_VERSIONS:
        raise StreamsError(
            f"{where} : remember_versions = {values['remember_versions']!r} "
            f"(valeurs possibles : {', '.join(REMEMBER_VERSIONS)})"
        )
    if values["remember_versions"] == "cursor" and values["version_fields"][-1] != values["cursor"]:
        raise StreamsError(
            f'{where} : avec remember_versions = "cursor", le curseur '
            f"{values['cursor']!r} doit être le dernier champ de version_fields"
        )
    if values["freshness_error_days"] < values["freshness_warn_days"]:
        raise StreamsError(f"{where} : freshness_error_days doit être au moins freshness_warn_days")
    return StreamSpec(
        name=name,
        description=values["description"],
        primary_key=tuple(values["primary_key"]),
        cursor=values["cursor"],
        version_fields=tuple(values["version_fields"]),
        remember_versions=values["remember_versions"],
        bronze_partition=values["bronze_partition"] or None,
        freshness_warn_days=values["freshness_warn_days"],
        freshness_error_days=values["freshness_error_days"],
    )


@cache
def load_streams(path: Path = STREAMS_FILE) -> dict[str, StreamSpec]:
    """Every declared stream, in the file's order."""
    document = read_toml(path, StreamsError, "déclaration des flux introuvable : {path}")
    if set(document) != {"streams"} or not isinstance(document["streams"], dict) or not document["streams"]:
        raise StreamsError(f"{path} : attendu une ou plusieurs sections [streams.<flux>] et rien d'autre")
    return {name: _spec(path, name, values) for name, values in document["streams"].items()}


def selected_streams(names: Sequence[str] | None = None) -> list[str]:
    """The named streams, or every declared stream when none is named; an unknown name is a
    `StreamsError` that lists the declared ones."""
    declared = load_streams()
    if not names:
        return list(declared)
    unknown = [name for name in names if name not in declared]
    if unknown:
        raise StreamsError(
            f"flux inconnus : {', '.join(unknown)} (flux déclarés dans {STREAMS_FILE.name} : {', '.join(declared)})"
        )
    return list(names)
