"""Streams are declared once, in conf/streams.toml: ingestion and bronze read it; the Airbyte manifest
(and through it Terraform) and the dbt sources are checked against it here."""

from __future__ import annotations

import re

import pytest
import yaml

from lakehouse.core.settings import PROJECT_ROOT
from lakehouse.core.streams import StreamsError, load_streams, selected_streams

MANIFEST = PROJECT_ROOT / "ingestion" / "manifest.yaml"
DBT_SOURCES = PROJECT_ROOT / "dbt" / "models" / "staging" / "bceao" / "_bceao__sources.yml"
STREAMS = load_streams()


def manifest_streams() -> dict[str, dict]:
    return {stream["name"]: stream for stream in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["streams"]}


def test_the_declaration_lists_the_three_streams_in_order():
    assert list(STREAMS) == ["indicateurs_economiques_uemoa", "raw_users", "raw_events"]
    assert STREAMS["raw_events"].bronze_partition == "days(occurred_at)"
    assert STREAMS["raw_users"].bronze_partition is None


def test_the_manifest_declares_the_same_streams_keys_and_cursors():
    declared = manifest_streams()
    assert list(declared) == list(STREAMS)
    for name, spec in STREAMS.items():
        key = declared[name]["primary_key"]
        assert tuple([key] if isinstance(key, str) else key) == spec.primary_key, name
        assert declared[name]["incremental_sync"]["cursor_field"] == spec.cursor, name


def test_version_fields_and_partition_columns_exist_in_the_stream_schemas():
    declared = manifest_streams()
    for name, spec in STREAMS.items():
        properties = declared[name]["schema_loader"]["schema"]["properties"]
        assert set(spec.version_fields) <= set(properties), name
        if spec.bronze_partition:
            column = re.fullmatch(r"(?:\w+\()?(\w+)\)?", spec.bronze_partition).group(1)
            assert column in properties, name


def test_the_dbt_sources_declare_the_same_tables_and_freshness():
    [source] = yaml.safe_load(DBT_SOURCES.read_text(encoding="utf-8"))["sources"]
    tables = {table["name"]: table for table in source["tables"]}
    assert list(tables) == list(STREAMS)
    for name, spec in STREAMS.items():
        freshness = tables[name]["freshness"]
        assert freshness["warn_after"] == {"count": spec.freshness_warn_days, "period": "day"}, name
        assert freshness["error_after"] == {"count": spec.freshness_error_days, "period": "day"}, name


def test_streams_are_selected_by_name_or_all_and_an_unknown_name_is_refused():
    assert selected_streams(["raw_users"]) == ["raw_users"]
    assert selected_streams(None) == selected_streams([]) == list(STREAMS)
    with pytest.raises(
        StreamsError, match="flux inconnus : raw_user .*indicateurs_economiques_uemoa, raw_users, raw_events"
    ):
        selected_streams(["raw_user"])


VALID = """[streams.s]
description = "d"
primary_key = ["id"]
cursor = "updated_at"
version_fields = ["id", "updated_at"]
remember_versions = "cursor"
bronze_partition = ""
freshness_warn_days = 1
freshness_error_days = 2
"""


@pytest.mark.parametrize(
    "text, message",
    [
        (VALID + "partitions = 3\n", "clé inconnue partitions"),
        (VALID.replace('cursor = "updated_at"\n', ""), "clé manquante cursor"),
        (VALID.replace('"cursor"', '"some"'), "remember_versions = 'some'"),
        (VALID.replace('["id", "updated_at"]', '["updated_at", "id"]'), "doit être le dernier champ de version_fields"),
        (VALID.replace('primary_key = ["id"]', "primary_key = []"), "primary_key doit être une liste non vide"),
        (
            VALID.replace("freshness_error_days = 2", "freshness_error_days = 0"),
            "freshness_error_days = 0 doit être un entier positif",
        ),
        (VALID.replace("freshness_warn_days = 1", "freshness_warn_days = 5"), "au moins freshness_warn_days"),
        ("[s]\n", "attendu une ou plusieurs sections [streams.<flux>]"),
        ("[streams.s\n", "TOML invalide"),
    ],
)
def test_a_wrong_declaration_is_refused_naming_the_stream_and_the_key(tmp_path, text, message):
    path = tmp_path / "streams.toml"
    path.write_text(text)
    with pytest.raises(StreamsError) as refused:
        load_streams(path)
    assert message in str(refused.value)
    if "[streams.s]" in text:
        assert f"{path} [streams.s]" in str(refused.value)


def test_a_valid_declaration_is_read(tmp_path):
    path = tmp_path / "streams.toml"
    path.write_text(VALID)
    [spec] = load_streams(path).values()
    assert (spec.name, spec.primary_key, spec.bronze_partition, spec.remember_versions) == (
        "s",
        ("id",),
        None,
        "cursor",
    )


def test_a_missing_declaration_is_named(tmp_path):
    with pytest.raises(StreamsError, match=f"déclaration des flux introuvable : {tmp_path / 'absent.toml'}"):
        load_streams(tmp_path / "absent.toml")
