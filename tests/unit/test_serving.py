"""The serving copy's plan without a server: column types, the statements of a fresh copy, the settings."""

from __future__ import annotations

import pyarrow as pa
import pytest

from lakehouse.core.settings import SettingsError, load_settings
from lakehouse.serving import ServingError, postgres_type, serve_mode, serving_configured, table_statements

QUARTERLY = pa.schema(
    [
        ("pays", pa.string()),
        ("annee", pa.int32()),
        ("trimestre", pa.int32()),
        ("date_trimestre", pa.date32()),
        ("pib_nominal", pa.decimal128(18, 2)),
        ("maj", pa.timestamp("us", tz="UTC")),
    ]
)


def _settings(tmp_path, **environ):
    return load_settings(environ={"LAKEHOUSE_STATE_DIR": str(tmp_path), **environ}, env_file=tmp_path / "absent.env")


def test_arrow_types_map_to_postgresql_types_and_an_unknown_one_is_named():
    assert [postgres_type(field.type) for field in QUARTERLY] == [
        "text",
        "integer",
        "integer",
        "date",
        "numeric(18,2)",
        "timestamp with time zone",
    ]
    assert postgres_type(pa.timestamp("us")) == "timestamp without time zone"
    assert postgres_type(pa.int64()) == "bigint" and postgres_type(pa.float64()) == "double precision"
    with pytest.raises(ServingError, match="list<item: int32>"):
        postgres_type(pa.list_(pa.int32()))


def _rendered(statements) -> list[str]:
    return [statement.as_string(None) for statement in statements]


def test_a_fresh_copy_gets_its_index_and_with_timescaledb_a_hypertable_on_date_trimestre():
    statements, hypertable = table_statements("gold", "mart_t", QUARTERLY, timescale=False)
    rendered = _rendered(statements)
    assert not hypertable and not any("create_hypertable" in line for line in rendered)
    assert rendered[0] == 'drop table if exists "gold"."mart_t__copie"'
    assert rendered[1].startswith('create table "gold"."mart_t__copie" ("pays" text, "annee" integer')
    assert rendered[-1] == (
        'create index "mart_t__copie_pays_annee_trimestre_idx" on "gold"."mart_t__copie" ("pays", "annee", "trimestre")'
    )
    statements, hypertable = table_statements("gold", "mart_t", QUARTERLY, timescale=True)
    assert hypertable
    assert "select create_hypertable('gold.mart_t__copie', by_range('date_trimestre'))" in _rendered(statements)
    yearly = pa.schema([("pays", pa.string()), ("annee", pa.int32()), ("valeur", pa.float64())])
    statements, hypertable = table_statements("gold", "annuel", yearly, timescale=True)
    assert not hypertable and _rendered(statements)[-1].endswith('("pays", "annee")')


def test_serving_is_configured_by_a_local_server_or_an_external_one_with_a_password(tmp_path):
    assert serve_mode(_settings(tmp_path)) == "auto"
    assert not serving_configured(_settings(tmp_path, LAKEHOUSE_POSTGRES_LOCAL="false"))
    assert serving_configured(
        _settings(tmp_path, LAKEHOUSE_POSTGRES_LOCAL="false", LAKEHOUSE_POSTGRES_PASSWORD="secret")
    )
    assert serving_configured(_settings(tmp_path, LAKEHOUSE_POSTGRES_LOCAL="true"))
    with pytest.raises(SettingsError, match="LAKEHOUSE_SERVE='parfois'"):
        serve_mode(_settings(tmp_path, LAKEHOUSE_SERVE="parfois"))
    with pytest.raises(SettingsError, match="LAKEHOUSE_POSTGRES_LOCAL"):
        serving_configured(_settings(tmp_path, LAKEHOUSE_POSTGRES_LOCAL="peut-être"))
