"""How people use the lakehouse, on the real test stack: the four notebooks run top to bottom, the
fast read path (pyiceberg + DuckDB) answers like Spark, `make sql` prints a table or one French line,
and JupyterLab starts on 127.0.0.1 with a token and stops with `make down`.

The lake they read is built as a user's would be: the session's sample lake (first vintage landed,
registered and built, in a landing bucket and a bronze namespace of its own), then the daily run of the
revised vintage (ingestion, registration, audited dbt build).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from lakehouse import pipeline
from lakehouse.core.notebook_kernel import KERNEL_NAME
from lakehouse.core.settings import PROJECT_ROOT
from lakehouse.fast_read import ANALYST_QUERIES, FastReadError, Lake
from lakehouse.services import service_named
from lakehouse.services.process import port_answers
from tests.cli_runner import run_cli
from tests.french import assert_french_numbers
from tests.sample_lake import BUILD_STEPS

pytestmark = pytest.mark.integration

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
LAKE_KEYS = ("LAKEHOUSE_LANDING_BUCKET", "LAKEHOUSE_BRONZE_NAMESPACE")


@pytest.fixture(scope="module")
def published_lake(sample_lake):
    """The session's sample lake brought to the revised vintage by the daily run (nothing left to do when
    the semantic search tests, run just before, already published it)."""
    lake = sample_lake
    pipeline.run_pipeline(lake.with_values(LAKEHOUSE_STANDIN_VINTAGE="2"), BUILD_STEPS, out=lambda _: None)
    with pytest.MonkeyPatch.context() as patch:  # notebook kernels and the CLI read the same lake
        for key in LAKE_KEYS:
            patch.setenv(key, lake.get(key))
        patch.setenv("JUPYTER_PLATFORM_DIRS", "1")
        yield lake


def _lake_env(lake) -> dict[str, str]:
    return {key: lake.get(key) for key in LAKE_KEYS}


# -- notebooks --------------------------------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_each_notebook_runs_top_to_bottom(path, published_lake):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name=KERNEL_NAME, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # a cell error raises CellExecutionError, with the cell and its traceback
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.get("output_type") == "error"]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    if not path.stem.startswith("01"):
        assert images, f"{path.name} n'a produit aucune image"


# -- fast read path ----------------------------------------------------------------------
def _rounded(rows) -> list[tuple]:
    """Numbers compared as floats: DuckDB's avg of a decimal is a double, Spark's a decimal."""
    return sorted(tuple(round(float(v), 6) if isinstance(v, float | Decimal) else v for v in row) for row in rows)


@pytest.mark.parametrize("name", list(ANALYST_QUERIES))
def test_the_fast_path_answers_like_spark(name, published_lake, spark):
    sql = ANALYST_QUERIES[name]
    fast = Lake(published_lake).sql_arrow(sql)
    expected = [tuple(row) for row in spark.sql(sql).collect()]
    assert expected
    assert _rounded(zip(*[column.to_pylist() for column in fast.columns], strict=True)) == _rounded(expected)


def test_only_the_named_columns_and_the_matching_rows_are_read(published_lake):
    lake = Lake(published_lake)
    result = lake.sql(
        "select pays, dette_pib_pct from gold.gold_mart_uemoa_convergence where annee = 2024 and pays in ('SEN', 'CIV')"
    )
    assert sorted(result["pays"]) == ["CIV", "SEN"]
    (scan,) = lake.last_scans
    assert sorted(scan["colonnes"]) == ["annee", "dette_pib_pct", "pays"]
    assert scan["filtre"] == "annee = 2024 et pays in ('SEN', 'CIV')"
    total = lake.load("gold.gold_mart_uemoa_convergence").scan().to_arrow().num_rows
    assert scan["lignes_lues"] == 8 < total  # only the annee=2024 file is read (8 countries); DuckDB keeps 2
    assert scan["lecteur"] == "fichiers entiers"
    # a disjunction is not pushed down, and the answer is still right
    either = lake.sql("select count(*) as n from gold.gold_mart_uemoa_convergence where annee = 2024 or pays = 'SEN'")
    assert lake.last_scans[0]["filtre"] == "aucun"
    assert int(either["n"][0]) == 8 + total // 8 - 1
    # the same scan of the same snapshot comes from the cache
    lake.sql(
        "select pays, dette_pib_pct from gold.gold_mart_uemoa_convergence where annee = 2024 and pays in ('SEN', 'CIV')"
    )
    assert lake.last_scans[0]["cache"] is True


def test_a_new_commit_is_seen_at_once_despite_the_scan_cache(running_stack, spark):
    spark.sql("CREATE OR REPLACE TABLE lakehouse.default.fr_cache (n INT) USING iceberg")
    spark.sql("INSERT INTO lakehouse.default.fr_cache VALUES (1)")
    lake = Lake(running_stack)
    assert lake.sql('select count(*) as n from "default".fr_cache')["n"][0] == 1
    assert lake.sql('select count(*) as n from "default".fr_cache')["n"][0] == 1 and lake.last_scans[0]["cache"]
    spark.sql("INSERT INTO lakehouse.default.fr_cache VALUES (2)")
    assert lake.sql('select count(*) as n from "default".fr_cache')["n"][0] == 2
    assert lake.last_scans[0]["cache"] is False


def test_whole_file_reads_follow_iceberg_field_ids_and_leave_deletes_to_pyiceberg(running_stack, spark):
    table = "lakehouse.default.fr_scan"
    spark.sql(
        f"CREATE OR REPLACE TABLE {table} (id INT, nom STRING, montant DECIMAL(10,2)) USING iceberg "
        "TBLPROPERTIES ('format-version'='2', 'write.delete.mode'='merge-on-read')"
    )
    spark.sql(f"INSERT INTO {table} VALUES (1, 'Bénin', 1.50), (2, 'Mali', 2.25)")
    spark.sql(f"INSERT INTO {table} VALUES (3, 'Niger', NULL)")
    lake = Lake(running_stack, cache_scans=0)
    query = 'select * from "default".fr_scan order by 1'

    def read() -> tuple[list[tuple], str, list[str]]:
        result = lake.sql_arrow(query)
        rows = list(zip(*[column.to_pylist() for column in result.columns], strict=True))
        return rows, lake.last_scans[0]["lecteur"], [str(field.type) for field in result.schema]

    rows, reader, types = read()
    assert reader == "fichiers entiers" and types == ["int32", "string", "decimal128(10, 2)"]
    assert rows == [(1, "Bénin", Decimal("1.50")), (2, "Mali", Decimal("2.25")), (3, "Niger", None)]
    # a promoted type is cast, the files stay as written
    spark.sql(f"ALTER TABLE {table} ALTER COLUMN id TYPE BIGINT")
    rows, reader, types = read()
    assert reader == "fichiers entiers" and types[0] == "int64" and [r[0] for r in rows] == [1, 2, 3]
    # a renamed column: the files hold the old name, pyiceberg maps it by field id
    spark.sql(f"ALTER TABLE {table} RENAME COLUMN nom TO libelle")
    rows, reader, _ = read()
    assert reader == "pyiceberg" and [r[1] for r in rows] == ["Bénin", "Mali", "Niger"]
    assert lake.sql_arrow('select libelle from "default".fr_scan where id = 2').column(0).to_pylist() == ["Mali"]
    # a position delete file: pyiceberg applies it
    spark.sql(
        f"CREATE OR REPLACE TABLE {table} TBLPROPERTIES ('format-version'='2', "
        "'write.delete.mode'='merge-on-read') "
        "AS SELECT /*+ REPARTITION(1) */ * FROM VALUES (1, 'a'), (2, 'b') AS t(id, nom)"
    )
    assert read()[1] == "fichiers entiers"
    spark.sql(f"DELETE FROM {table} WHERE id = 1")
    rows, reader, _ = read()
    assert reader == "pyiceberg" and rows == [(2, "b")]


def test_time_travel_by_snapshot_and_by_instant_matches_spark(published_lake, spark):
    lake = Lake(published_lake)
    table = f"{published_lake.get('BRONZE_NAMESPACE')}.indicateurs_economiques_uemoa"
    # The first state of main (a registration's snapshot becomes main's state when it is published).
    first = lake.load(table).history()[0]
    sql = f"select date_publication, count(*) as n from {table} group by 1 order by 1"
    by_snapshot = lake.sql(sql, snapshots={table: first.snapshot_id})
    spark_rows = spark.sql(sql.replace(f"from {table}", f"from {table} VERSION AS OF {first.snapshot_id}")).collect()
    assert by_snapshot["n"].tolist() == [row.n for row in spark_rows]
    assert [str(d) for d in by_snapshot["date_publication"]] == ["2025-03-31"]  # before the revised vintage
    now = lake.sql(sql)
    assert [str(d) for d in now["date_publication"]] == ["2025-03-31", "2025-06-30"]
    from datetime import UTC, datetime

    at_first = datetime.fromtimestamp(first.timestamp_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    assert lake.sql(sql, as_of=at_first)["n"].tolist() == by_snapshot["n"].tolist()
    with pytest.raises(FastReadError, match="snapshot 42 inconnu"):
        lake.sql(sql, snapshots={table: 42})


def test_make_sql_prints_a_table_and_what_it_read(published_lake):
    result = run_cli(
        "sql",
        "select pays, dette_pib_pct from gold.gold_mart_uemoa_convergence where annee = 2024",
        **_lake_env(published_lake),
    )
    assert result.returncode == 0, result.stderr
    assert "SEN" in result.stdout and "dette_pib_pct" in result.stdout
    assert "8 ligne(s) en" in result.stdout and "gold.gold_mart_uemoa_convergence@" in result.stdout
    assert_french_numbers(result.stdout)  # « 77,42 », never « 77.42 »
    # the server stays warm: the same query again is answered from the scan cache
    again = run_cli(
        "sql",
        "select pays, dette_pib_pct from gold.gold_mart_uemoa_convergence where annee = 2024",
        **_lake_env(published_lake),
    )
    assert again.returncode == 0 and "en cache" in again.stdout, again.stdout
    assert service_named("sql").process(published_lake).state() == "running"
    listing = run_cli("sql", **_lake_env(published_lake))
    assert listing.returncode == 0 and "gold (8)" in listing.stdout, listing.stdout
    down = run_cli("down", "sql")
    assert down.returncode == 0 and "sql: arrêté" in down.stdout, down.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["select * from gold.inconnue"], "table inconnue : gold.inconnue (tables de gold :"),
        (["select * from silver.stg_indicators"], "silver.stg_indicators est une vue Iceberg"),
        (["selec 1 from gold.gold_mart_uemoa_convergence"], "SQL invalide : erreur de syntaxe près de « selec »"),
        (["drop table gold.gold_mart_uemoa_convergence"], "seules les requêtes SELECT sont acceptées"),
        (
            ["select colonne_absente from gold.gold_mart_uemoa_convergence"],
            "SQL invalide : colonne « colonne_absente » absente des tables lues",
        ),
        (["select * from gold.gold_mart_uemoa_convergence", "--snapshot", "abc"], "un identifiant numérique"),
        (["select * from gold.gold_mart_uemoa_convergence", "--as-of", "hier"], "instant illisible"),
    ],
)
def test_bad_queries_get_one_french_line(args, message, published_lake):
    result = run_cli("sql", *args, **_lake_env(published_lake))
    assert result.returncode == 1
    # the first query of the module starts the warm server: its notice goes to stderr, beside the error
    notice = "(serveur de lecture rapide démarré"
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith(notice)]
    assert len(lines) == 1 and lines[0].startswith("ERREUR : ") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


# -- JupyterLab ----------------------------------------------------------------------------
def test_make_notebook_serves_jupyterlab_with_a_token_offline_and_down_stops_it(running_stack):
    jupyter = service_named("jupyter")
    result = run_cli("notebook", timeout=180)
    try:
        assert result.returncode == 0, result.stderr
        url = jupyter.user_url(running_stack)
        assert url in result.stdout
        base = running_stack.jupyter_url
        assert base.startswith("http://127.0.0.1:")
        token = {"Authorization": f"token {running_stack.jupyter_token}"}
        assert requests.get(f"{base}/api/status", timeout=10).status_code == 403
        assert requests.get(f"{base}/api/status", headers=token, timeout=10).status_code == 200
        specs = requests.get(f"{base}/api/kernelspecs", headers=token, timeout=10).json()
        assert specs["default"] == KERNEL_NAME and KERNEL_NAME in specs["kernelspecs"]
        assert requests.get(f"{base}/lab/api/news", headers=token, timeout=10).json()["news"] == []
        # started in the background: a second `make notebook` finds it running
        again = run_cli("notebook", timeout=60)
        assert again.returncode == 0 and "déjà démarré" in again.stdout, again.stdout
    finally:
        down = run_cli("down", "jupyter", timeout=60)
    assert down.returncode == 0 and "jupyter: arrêté" in down.stdout, down.stdout
    assert jupyter.process(running_stack).state() == "stopped"
    assert not port_answers(running_stack.jupyter_host, running_stack.jupyter_port)


def test_a_busy_jupyter_port_gets_the_one_line_error(running_stack):
    import socket

    with socket.socket() as squatter:
        squatter.bind((running_stack.jupyter_host, running_stack.jupyter_port))
        squatter.listen()
        result = run_cli("notebook", timeout=60)
    assert result.returncode == 1
    assert "le port" in result.stderr and "LAKEHOUSE_JUPYTER_PORT" in result.stderr, result.stderr


def test_make_sql_says_when_the_catalog_is_down(running_stack):
    result = run_cli(
        "sql", "select 1 from gold.gold_mart_uemoa_convergence", LAKEHOUSE_CATALOG_URI="http://127.0.0.1:9"
    )
    assert result.returncode == 1
    # after the fast read server's start notice when no earlier test started it
    [error] = [line for line in result.stderr.splitlines() if line.startswith("ERREUR")]
    assert error.startswith("ERREUR : catalogue Iceberg REST injoignable sur http://127.0.0.1:9"), result.stderr
    assert "Traceback" not in result.stderr
