"""What the fast read path takes from a SELECT (DuckDB's parser): tables, columns to read, filters to push."""

from __future__ import annotations

import pytest

from lakehouse.fast_read import FastReadError, TableRef, query_shape


def test_a_single_table_query_pushes_its_and_comparisons_and_reads_its_named_columns():
    shape = query_shape(
        "select pays, dette_pib_pct from gold.conv where annee = 2024 and pays in ('SEN', 'CIV') and 2 < trimestre"
    )
    assert shape.tables == [TableRef("gold", "conv")]
    assert shape.columns == {"pays", "dette_pib_pct", "annee", "trimestre"} and not shape.all_columns
    assert shape.conjuncts == [("annee", "==", 2024), ("pays", "in", ["SEN", "CIV"]), ("trimestre", ">", 2)]


@pytest.mark.parametrize(
    "where",
    [
        "annee = 2024 or pays = 'SEN'",  # a disjunction
        "annee + 1 = 2025",  # an expression
        "date_trimestre = date '2024-10-01'",  # a cast literal: left to DuckDB
        "annee = null",
    ],
)
def test_what_is_not_a_plain_comparison_is_left_to_duckdb(where):
    assert query_shape(f"select * from gold.t where {where}").conjuncts == []


def test_a_struct_field_reads_its_column_and_is_never_pushed_as_a_top_level_one():
    shape = query_shape("select count(*) from bronze.t b where _airbyte_meta.changes = 'x' and b.annee = 2024")
    assert {"_airbyte_meta", "changes", "annee"} <= shape.columns
    assert shape.conjuncts == [("annee", "==", 2024)]


def test_joins_read_the_named_and_using_columns_and_push_nothing():
    shape = query_shape("select g.pays, d.pib_reel from gold.g g join silver.d d using (annee) where g.annee = 2024")
    assert shape.tables == [TableRef("gold", "g"), TableRef("silver", "d")]
    assert {"pays", "pib_reel", "annee"} <= shape.columns
    assert shape.conjuncts == []


@pytest.mark.parametrize(
    "sql",
    ["select * from gold.t", "select count(*) from gold.a natural join gold.b", "select t.* from gold.t t"],
)
def test_a_star_or_a_natural_join_reads_every_column(sql):
    assert query_shape(sql).all_columns


def test_ctes_are_not_lakehouse_tables_and_bare_names_are_kept_for_resolution():
    shape = query_shape("with x as (select pays from gold_mart_uemoa_convergence) select count(*) from x")
    assert shape.tables == [TableRef("", "gold_mart_uemoa_convergence")]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("", "requête vide"),
        ("selec 1", "SQL invalide : erreur de syntaxe près de « selec »"),
        ("select 1 +", "SQL invalide : erreur de syntaxe près de « \\+ »"),
        ("insert into gold.t values (1)", "seules les requêtes SELECT"),
        ("select 1; select 2", "une seule requête"),
    ],
)
def test_what_the_fast_path_refuses(sql, message):
    with pytest.raises(FastReadError, match=message):
        query_shape(sql)


@pytest.mark.parametrize(
    ("english", "french"),
    [
        ("Catalog Error: Table with name t does not exist!", "table « t » inconnue"),
        ('Binder Error: Referenced column "xx" not found in FROM clause!', "colonne « xx » absente des tables lues"),
        ("Conversion Error: Could not convert string 'a' to INT32", "conversion impossible de 'a' en INT32"),
        ("Out of Memory Error: failed", "erreur de DuckDB (détail en anglais) : Out of Memory Error: failed"),
    ],
)
def test_duckdb_errors_are_said_in_french(english, french):
    from lakehouse.fast_read import french_sql_error

    assert french_sql_error(english).startswith(french)
