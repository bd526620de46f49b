"""`make serve` against the real PostgreSQL server (Debian's package): rows, types and indexes as in the lake,
nothing copied again while a snapshot holds the same rows, one transaction per table, the step of `make run`.

Tables of its own (`gold.srv_*`, `silver.srv_dim`) on the shared test stack; the server's data in a folder
under /tmp that the `postgres` system user can reach (a test run by root runs the server as that user).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from lakehouse import pipeline, stack
from lakehouse.core.clients import iceberg_catalog
from lakehouse.services.postgres import bin_dir, connect, timescaledb_installed
from lakehouse.serving import META_SCHEMA, ServingError, serve
from tests.cli_runner import run_cli

pytestmark = pytest.mark.integration

QUARTERLY = "gold.srv_quarterly"
DIMENSION = "silver.srv_dim"


@pytest.fixture(scope="module")
def serving(running_stack, spark):
    if bin_dir(running_stack) is None:
        pytest.skip("serveur PostgreSQL absent : `make test-tools` l'installe (paquet Debian postgresql, en root)")
    folder = Path(tempfile.mkdtemp(prefix="lakehouse-pg-", dir="/tmp"))
    folder.chmod(0o755)
    overrides = {
        "LAKEHOUSE_POSTGRES_LOCAL": "true",
        "LAKEHOUSE_POSTGRES_DATA_DIR": str(folder / "postgres"),
        "LAKEHOUSE_SERVE_TABLES": f"gold.srv_*,{DIMENSION}",
        "LAKEHOUSE_SERVE": "auto",
    }
    settings = running_stack.with_values(**overrides)
    for table in (QUARTERLY, DIMENSION):
        spark.sql(f"DROP TABLE IF EXISTS lakehouse.{table}")
    spark.sql(
        f"CREATE TABLE lakehouse.{QUARTERLY} (pays STRING, annee INT, trimestre INT, date_trimestre DATE, "
        "pib_nominal DECIMAL(18,2), taux DOUBLE, libelle STRING, respecte BOOLEAN, maj TIMESTAMP) USING iceberg"
    )
    spark.sql(
        f"INSERT INTO lakehouse.{QUARTERLY} VALUES "
        "('CIV', 2023, 1, DATE'2023-03-31', 12345678.90, 2.5, 'premier', true, TIMESTAMP'2024-01-02 03:04:05'), "
        "('SEN', 2023, 2, DATE'2023-06-30', -0.01, NULL, '', false, NULL), "
        "('BEN', 2023, 3, DATE'2023-09-30', NULL, 1e-3, 'virgule, \"guillemets\"\nligne', NULL, "
        "TIMESTAMP'2024-12-31 23:59:59.123456')"
    )
    spark.sql(f"CREATE TABLE lakehouse.{DIMENSION} (pays STRING, annee INT, valeur BIGINT) USING iceberg")
    spark.sql(f"INSERT INTO lakehouse.{DIMENSION} VALUES ('CIV', 2023, 1)")
    spark.sql(f"INSERT INTO lakehouse.{DIMENSION} VALUES ('SEN', 2023, 9007199254740993)")
    stack.up(settings, ["postgres"], progress=lambda _: None)
    try:
        yield settings, overrides
    finally:
        stack.down(settings, ["postgres"], progress=lambda _: None)
        for table in (QUARTERLY, DIMENSION):
            spark.sql(f"DROP TABLE IF EXISTS lakehouse.{table}")
        shutil.rmtree(folder, ignore_errors=True)


def _lake_rows(settings, table: str) -> list[tuple]:
    rows = iceberg_catalog(settings).load_table(table).scan().to_arrow().to_pylist()
    return sorted((tuple(row.values()) for row in rows), key=repr)


def _served_rows(settings, table: str) -> list[tuple]:
    with connect(settings) as connection:
        return sorted(connection.execute(f"select * from {table}").fetchall(), key=repr)


def _record(settings, table: str) -> tuple:
    with connect(settings) as connection:
        return connection.execute(
            f"select snapshot_id, row_count, copied_at from {META_SCHEMA}.copies where table_name = %s", (table,)
        ).fetchone()


def _current_snapshot(settings, table: str) -> int:
    return iceberg_catalog(settings).load_table(table).current_snapshot().snapshot_id


def test_make_serve_copies_rows_types_and_an_index_per_table(serving):
    settings, overrides = serving
    result = run_cli("serve", **overrides)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{QUARTERLY} : 3 lignes copiées" in result.stdout and f"{DIMENSION} : 2 lignes copiées" in result.stdout
    assert "2 table(s) copiée(s) (5 lignes), 0 inchangée(s)" in result.stdout
    for table in (QUARTERLY, DIMENSION):
        assert _served_rows(settings, table) == _lake_rows(settings, table), table  # decimals, '', NULL, times
        assert _record(settings, table)[:2] == (_current_snapshot(settings, table), len(_lake_rows(settings, table)))
    with connect(settings) as connection:
        indexes = dict(connection.execute("select tablename, indexdef from pg_indexes where tablename like 'srv_%'"))
        types = dict(
            connection.execute(
                "select column_name, data_type from information_schema.columns where table_name = 'srv_quarterly'"
            )
        )
    assert indexes["srv_quarterly"].endswith("USING btree (pays, annee, trimestre)")
    assert indexes["srv_dim"].endswith("USING btree (pays, annee)")
    assert types["pib_nominal"] == "numeric" and types["maj"] == "timestamp with time zone"
    timescale = timescaledb_installed(bin_dir(settings))  # then preloaded by `make up`
    with connect(settings) as connection:
        recorded = dict(connection.execute(f"select table_name, hypertable from {META_SCHEMA}.copies"))
        if timescale:  # the quarterly table is a hypertable, the other one is not
            dimensions = connection.execute(
                "select hypertable_schema || '.' || hypertable_name, column_name "
                "from timescaledb_information.dimensions"
            ).fetchall()
            assert dimensions == [("gold.srv_quarterly", "date_trimestre")]
            line = next(line for line in result.stdout.splitlines() if line.startswith(f"{QUARTERLY} : 3 lignes"))
            assert "(hypertable sur date_trimestre)" in line, line
    assert recorded == {QUARTERLY: timescale, DIMENSION: False}


def test_a_table_is_copied_again_only_when_its_rows_changed(serving, spark):
    settings, _ = serving
    before = {table: _record(settings, table) for table in (QUARTERLY, DIMENSION)}
    lines: list[str] = []
    results = serve(settings, out=lines.append)
    assert [result.status for result in results] == ["unchanged", "unchanged"], lines
    assert {table: _record(settings, table) for table in (QUARTERLY, DIMENSION)} == before
    # Compaction writes a new snapshot with the same rows: not copied again, the record follows the snapshot.
    spark.sql(
        f"CALL lakehouse.system.rewrite_data_files(table => '{DIMENSION}', options => map('min-input-files', '2'))"
    )
    spark.sql(f"INSERT INTO lakehouse.{QUARTERLY} VALUES ('MLI', 2023, 4, DATE'2023-12-31', 1, 1, 'x', true, NULL)")
    assert _current_snapshot(settings, DIMENSION) != before[DIMENSION][0]
    results = {result.table: result for result in serve(settings, out=lines.append)}
    assert results[DIMENSION].status == "unchanged" and results[QUARTERLY].status == "copied"
    assert _record(settings, DIMENSION)[0] == _current_snapshot(settings, DIMENSION)
    assert _record(settings, DIMENSION)[2] == before[DIMENSION][2]  # copied_at: no copy
    assert _served_rows(settings, QUARTERLY) == _lake_rows(settings, QUARTERLY) and results[QUARTERLY].rows == 4


def test_a_table_that_cannot_be_copied_keeps_its_served_copy_and_the_others_are_copied(serving, spark):
    settings, _ = serving
    with connect(settings, autocommit=True) as connection:
        connection.execute("create view public.tableau_de_bord as select pays, annee from gold.srv_quarterly")
    served_before = _served_rows(settings, QUARTERLY)
    record_before = _record(settings, QUARTERLY)
    spark.sql(f"ALTER TABLE lakehouse.{QUARTERLY} ADD COLUMN note STRING")
    new_row = "('NER', 2024, 1, DATE'2024-03-31', 2, 2, 'y', true, NULL, 'n')"
    spark.sql(f"INSERT INTO lakehouse.{QUARTERLY} VALUES {new_row}")
    spark.sql(f"INSERT INTO lakehouse.{DIMENSION} VALUES ('TGO', 2024, 3)")
    try:
        with pytest.raises(ServingError) as failed:
            serve(settings, out=lambda _: None)
        message = str(failed.value)
        assert message.startswith("1 table(s) non copiée(s)") and QUARTERLY in message
        assert "tableau_de_bord" in message and "supprimez-les" in message
        # all or nothing: the served rows and columns, and the record, are those of before
        assert _served_rows(settings, QUARTERLY) == served_before
        assert _record(settings, QUARTERLY) == record_before
        with connect(settings) as connection:
            leftovers = connection.execute("select count(*) from pg_tables where tablename like '%%__copie'")
            assert leftovers.fetchone()[0] == 0
        assert _served_rows(settings, DIMENSION) == _lake_rows(settings, DIMENSION)  # the other table went on
    finally:
        with connect(settings, autocommit=True) as connection:
            connection.execute("drop view if exists public.tableau_de_bord")
    results = {result.table: result for result in serve(settings, out=lambda _: None)}
    assert results[QUARTERLY].status == "copied" and results[DIMENSION].status == "unchanged"
    assert _served_rows(settings, QUARTERLY) == _lake_rows(settings, QUARTERLY)
    assert len(_served_rows(settings, QUARTERLY)[0]) == 10  # the new column


def test_the_serve_step_of_make_run(serving, spark):
    settings, _ = serving
    [step] = [step for step in pipeline.STEPS if step.name == "serve"]
    spark.sql(f"INSERT INTO lakehouse.{DIMENSION} VALUES ('GNB', 2024, 4)")
    result = step.run(settings)
    assert result.summary == "1 table(s) copiée(s) (4 lignes), 1 inchangée(s)"
    assert result.facts["served"][DIMENSION] == {
        "status": "copied",
        "rows": 4,
        "snapshot_id": _current_snapshot(settings, DIMENSION),
    }
    off = settings.with_values(LAKEHOUSE_SERVE="false")
    assert step.run(off) == "copie de service désactivée (LAKEHOUSE_SERVE=false)"
    no_server = settings.with_values(LAKEHOUSE_POSTGRES_LOCAL="false", LAKEHOUSE_POSTGRES_PASSWORD="")
    assert step.run(no_server).startswith("aucun serveur PostgreSQL configuré : étape sautée")
