"""Schema drift between a landed file and its bronze table, decided without Spark: add, widen, accept, refuse."""

from __future__ import annotations

import pyarrow as pa
import pytest

from lakehouse_spark.schema_drift import DriftPlan, IncompatibleSchema, plan_for, spark_type

TABLE = {
    "pays": "string",
    "annee": "bigint",
    "trimestre": "int",
    "pib": "float",
    "montant": "decimal(18,2)",
    "_airbyte_meta": "struct<sync_id:bigint,changes:array<struct<field:string>>>",
}


@pytest.mark.parametrize(
    "arrow_type, expected",
    [
        (pa.int32(), "int"),
        (pa.int64(), "bigint"),
        (pa.uint32(), "bigint"),
        (pa.float64(), "double"),
        (pa.timestamp("ms", tz="UTC"), "timestamp"),
        (pa.timestamp("us"), "timestamp_ntz"),
        (pa.decimal128(18, 2), "decimal(18,2)"),
        (pa.date32(), "date"),
        (pa.large_string(), "string"),
        (pa.struct([("a", pa.int64()), ("b", pa.list_(pa.string()))]), "struct<a:bigint,b:array<string>>"),
        (pa.duration("s"), "string"),
    ],
)
def test_spark_type_of_each_arrow_type(arrow_type, expected):
    assert spark_type(arrow_type) == expected


def test_a_file_with_the_table_schema_needs_nothing():
    schema = pa.schema([("pays", pa.string()), ("annee", pa.int64()), ("montant", pa.decimal128(18, 2))])
    plan = plan_for(schema, TABLE)
    assert (plan.add, plan.widen) == ({}, {})


def test_a_new_column_is_added_and_a_missing_one_is_left_to_null():
    plan = plan_for(pa.schema([("pays", pa.string()), ("population", pa.int64())]), TABLE)
    assert plan.add == {"population": "bigint"} and plan.widen == {}


def test_int_and_float_are_widened_in_the_table_and_narrower_files_are_cast():
    plan = plan_for(pa.schema([("trimestre", pa.int64()), ("pib", pa.float64()), ("annee", pa.int32())]), TABLE)
    assert plan.widen == {"trimestre": "bigint", "pib": "double"} and plan.add == {}


def test_airbyte_metadata_structs_are_accepted_as_they_are():
    meta = pa.struct(
        [("sync_id", pa.int64()), ("changes", pa.list_(pa.struct([("field", pa.string()), ("change", pa.string())])))]
    )
    assert plan_for(pa.schema([("_airbyte_meta", meta)]), TABLE).add == {}


def test_an_unsafe_type_change_is_refused_naming_the_column_and_both_types():
    with pytest.raises(IncompatibleSchema, match="colonne annee : string dans le fichier, bigint dans la table"):
        plan_for(pa.schema([("annee", pa.string())]), TABLE)
    with pytest.raises(IncompatibleSchema, match="colonne pib : bigint dans le fichier, float dans la table"):
        plan_for(pa.schema([("pib", pa.int64())]), TABLE)


def test_plans_of_several_files_merge_to_the_widest_type():
    merged = DriftPlan()
    merged.merge(DriftPlan(add={"population": "int"}))
    merged.merge(DriftPlan(add={"population": "bigint", "zone": "string"}, widen={"pib": "double"}))
    merged.merge(DriftPlan(add={"population": "int", "zone": "bigint"}))
    assert merged.add == {"population": "bigint", "zone": "string"}
    assert merged.widen == {"pib": "double"}
