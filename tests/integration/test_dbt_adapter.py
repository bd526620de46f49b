"""dbt's own adapter tests (the `dbt-tests-adapter` base classes dbt-spark runs on itself) against the test
stack: the Thrift server, the REST catalog, Iceberg tables. Each class gets a fresh schema (namespace) and a
throwaway dbt project holding the class's models and seeds, with `file_format: iceberg` and the project's
Iceberg macros (`dbt/macros/iceberg_adapter.sql`); dbt runs in this process as the project's dbt does:
PyHive reads the Thrift server's empty replies (`lakehouse.core.thrift_replies`) and each dbt thread keeps
its Thrift session from one node to the next (`lakehouse.core.dbt_sessions`), so that dbt's own tests
(`insert_overwrite`, which sets a Spark setting in its session, among them) check that too.

A class that cannot pass here would be skipped with the catalog limit it hits, named; none is today.
"""

from __future__ import annotations

import getpass
import logging
import os
import shutil
from pathlib import Path

import pytest
from dbt.adapters.factory import cleanup_connections
from dbt.events.logging import cleanup_event_logger
from dbt.tests.adapter.basic import expected_catalog
from dbt.tests.adapter.basic.test_adapter_methods import BaseAdapterMethod
from dbt.tests.adapter.basic.test_base import BaseSimpleMaterializations
from dbt.tests.adapter.basic.test_docs_generate import BaseDocsGenerate, BaseDocsGenReferences
from dbt.tests.adapter.basic.test_empty import BaseEmpty
from dbt.tests.adapter.basic.test_ephemeral import BaseEphemeral
from dbt.tests.adapter.basic.test_generic_tests import BaseGenericTests
from dbt.tests.adapter.basic.test_incremental import BaseIncremental, BaseIncrementalNotSchemaChange
from dbt.tests.adapter.basic.test_singular_tests import BaseSingularTests
from dbt.tests.adapter.basic.test_singular_tests_ephemeral import BaseSingularTestsEphemeral
from dbt.tests.adapter.basic.test_snapshot_check_cols import BaseSnapshotCheckCols
from dbt.tests.adapter.basic.test_snapshot_timestamp import BaseSnapshotTimestamp
from dbt.tests.adapter.basic.test_validate_connection import BaseValidateConnection
from dbt.tests.adapter.incremental import test_incremental_unique_id as unique_key_kit
from dbt.tests.adapter.incremental.test_incremental_merge_exclude_columns import BaseMergeExcludeColumns
from dbt.tests.adapter.incremental.test_incremental_microbatch import BaseMicrobatch
from dbt.tests.adapter.incremental.test_incremental_on_schema_change import BaseIncrementalOnSchemaChange
from dbt.tests.adapter.incremental.test_incremental_predicates import BaseIncrementalPredicates
from dbt.tests.adapter.incremental.test_incremental_unique_id import BaseIncrementalUniqueKey
from dbt.tests.adapter.unit_testing import test_quoted_reserved_word_column_names as reserved_word_kit
from dbt.tests.adapter.unit_testing.test_case_insensitivity import BaseUnitTestCaseInsensivity
from dbt.tests.adapter.unit_testing.test_invalid_input import BaseUnitTestInvalidInput
from dbt.tests.adapter.unit_testing.test_types import BaseUnitTestingTypes
from dbt.tests.fixtures import project as dbt_project_fixtures
from dbt.tests.util import check_relations_equal, run_dbt
from dbt_common.events import logger as dbt_event_logger
from dbt_common.events.event_manager_client import get_event_manager

from lakehouse.core.dbt_sessions import keep_sessions_open
from lakehouse.core.settings import PROJECT_ROOT
from lakehouse.core.thrift_replies import read_empty_replies

pytestmark = [
    pytest.mark.integration,
    # dbt's kit defines its class-scoped fixtures as instance methods (as its classes' subclasses must),
    # which pytest 9 deprecates; nothing here sets instance attributes in them.
    pytest.mark.filterwarnings("ignore::pytest.PytestRemovedIn10Warning"),
]

ICEBERG_MACROS = PROJECT_ROOT / "dbt" / "macros" / "iceberg_adapter.sql"
ICEBERG = {"+file_format": "iceberg"}
LAKEHOUSE_MACROS = "lakehouse_macros"

read_empty_replies()
keep_sessions_open()


def _close_replaced_handlers(self, handler):
    """dbt's loggers replace their handler without closing it; the kit runs dbt many times in one process,
    so each run would leave its dbt.log open (pytest reports every unclosed file as an error)."""
    for previous in logging.getLogger(self.name).handlers:
        previous.close()
    return _get_python_log_for_handler(self, handler)


_get_python_log_for_handler = dbt_event_logger._Logger._get_python_log_for_handler
dbt_event_logger._Logger._get_python_log_for_handler = _close_replaced_handlers


def _close_log_files_then_clean_up() -> None:
    """dbt's kit drops its loggers at the end of a class without closing their files (pytest then reports
    each unclosed dbt.log as an error), and leaves its Thrift connections open: both closed here."""
    cleanup_connections()
    for logger in get_event_manager().loggers:
        for handler in getattr(getattr(logger, "_python_logger", None), "handlers", ()):
            handler.close()
    cleanup_event_logger()


dbt_project_fixtures.cleanup_event_logger = _close_log_files_then_clean_up


@pytest.fixture(scope="class")
def logs_dir(tmp_path_factory, prefix):
    """dbt's logs of the class in a temporary folder (the kit's default is logs/ in the checkout); its artifacts
    in its project's target/, where the kit reads them (not in the session's DBT_TARGET_PATH)."""
    folder = tmp_path_factory.mktemp(f"dbt-logs-{prefix}")
    saved = {key: os.environ.pop(key, None) for key in ("DBT_LOG_PATH", "DBT_TARGET_PATH")}
    os.environ["DBT_LOG_PATH"] = str(folder)
    yield str(folder)
    os.environ.pop("DBT_LOG_PATH", None)
    os.environ.update({key: value for key, value in saved.items() if value is not None})


@pytest.fixture(scope="class")
def dbt_profile_target(running_stack):
    """The test stack's Thrift server, as dbt/profiles.yml reaches it."""
    return {
        "type": "spark",
        "method": "thrift",
        "host": running_stack.thrift_host,
        "port": running_stack.thrift_port,
        "user": running_stack.thrift_user,
        "threads": 2,
        "connect_retries": 3,
        "connect_timeout": 10,
        "poll_interval": 1,
    }


@pytest.fixture(scope="class", autouse=True)
def _iceberg_macros(project_root):
    """The project's Iceberg macros in the class's dbt project, before dbt reads it."""
    macros = Path(project_root) / LAKEHOUSE_MACROS  # dbt's fixture gives a py.path; it writes macros/ itself
    macros.mkdir(exist_ok=True)
    shutil.copy(ICEBERG_MACROS, macros / ICEBERG_MACROS.name)


def iceberg_project(name: str) -> dict:
    """The class's dbt_project.yml changes: its name, the project's Iceberg macros, and Iceberg for
    everything dbt creates."""
    return {
        "name": name,
        "macro-paths": ["macros", LAKEHOUSE_MACROS],
        "models": ICEBERG,
        "seeds": ICEBERG,
        "snapshots": ICEBERG,
    }


class IcebergProject:
    """First base of each kit class: its dbt project is named `project_name`, reads the project's Iceberg
    macros, creates Iceberg tables, and adds `model_config` to its models' configuration."""

    project_name = "iceberg"
    model_config: dict = {}

    @pytest.fixture(scope="class")
    def project_config_update(self):
        return {**iceberg_project(self.project_name), "models": {**ICEBERG, **self.model_config}}


MERGE = {"+incremental_strategy": "merge"}


class TestSimpleMaterializations(IcebergProject, BaseSimpleMaterializations):
    """Views, tables, seeds, a materialization switched from view to table, `dbt docs generate`."""

    project_name = "base"


class TestSingularTests(IcebergProject, BaseSingularTests):
    project_name = "singular_tests"


class TestSingularTestsEphemeral(IcebergProject, BaseSingularTestsEphemeral):
    project_name = "singular_tests_ephemeral"


class TestEmpty(IcebergProject, BaseEmpty):
    project_name = "empty"


class TestEphemeral(IcebergProject, BaseEphemeral):
    project_name = "ephemeral"


class TestGenericTests(IcebergProject, BaseGenericTests):
    project_name = "generic_tests"


class TestIncremental(IcebergProject, BaseIncremental):
    project_name, model_config = "incremental", MERGE


class TestIncrementalNotSchemaChange(IcebergProject, BaseIncrementalNotSchemaChange):
    project_name, model_config = "incremental", MERGE


class TestIncrementalOnSchemaChange(IcebergProject, BaseIncrementalOnSchemaChange):
    """`on_schema_change`: ignore, fail, append_new_columns, sync_all_columns (columns added and dropped)."""

    project_name, model_config = "on_schema_change", MERGE


class TestIncrementalUniqueKey(IcebergProject, BaseIncrementalUniqueKey):
    """Merges that update rows: one key, several keys, a key that is not a column (refused)."""

    project_name, model_config = "incremental_unique_key", MERGE

    @pytest.fixture(scope="class")
    def seeds(self):
        """The kit's seeds, its inserts writing a DATE literal: Spark's ANSI store assignment refuses the
        string '2022-02-01' for a DATE column (`INCOMPATIBLE_DATA_FOR_TABLE.CANNOT_SAFELY_CAST`)."""
        return {
            "duplicate_insert.sql": unique_key_kit.seeds__duplicate_insert_sql.replace(",'2022-", ",date'2022-"),
            "seed.csv": unique_key_kit.seeds__seed_csv,
            "add_new_rows.sql": unique_key_kit.seeds__add_new_rows_sql.replace(",'2022-", ",date'2022-"),
        }


class TestIncrementalPredicates(IcebergProject, BaseIncrementalPredicates):
    project_name = "incremental_predicates"
    model_config = {**MERGE, "+incremental_predicates": ["dbt_internal_dest.id != 2"]}


class TestMergeExcludeColumns(IcebergProject, BaseMergeExcludeColumns):
    project_name, model_config = "merge_exclude_columns", MERGE


class TestSnapshotCheckCols(IcebergProject, BaseSnapshotCheckCols):
    project_name = "snapshot_strategy_check_cols"


class TestSnapshotTimestamp(IcebergProject, BaseSnapshotTimestamp):
    project_name = "snapshot_strategy_timestamp"


class TestAdapterMethod(IcebergProject, BaseAdapterMethod):
    project_name = "adapter_methods"


class TestValidateConnection(BaseValidateConnection):
    pass


class DocsProject:
    """First base of the docs classes: the kit's docs project (its vars, assets and quoted seed columns) on
    Iceberg, named `test` as the kit's expected catalog names its nodes (model.test.*)."""

    @pytest.fixture(scope="class")
    def project_config_update(self, unique_schema):
        return {
            **iceberg_project("test"),
            "asset-paths": ["assets", "invalid-asset-paths"],
            "vars": {"test_schema": unique_schema, "alternate_schema": unique_schema + "_test"},
            "seeds": {**ICEBERG, "quote_columns": True},
        }


class TestDocsGenerate(DocsProject, BaseDocsGenerate):
    """`dbt docs generate`: the catalog of a view, a view in another schema, a seed and a source, with their
    columns and Spark's types."""

    @pytest.fixture(scope="class")
    def expected_catalog(self, project):
        return spark_catalog(expected_catalog.base_expected_catalog, project)


class TestDocsGenReferences(DocsProject, BaseDocsGenReferences):
    """`dbt docs generate` with a table, a view over it, an ephemeral model and docs blocks."""

    @pytest.fixture(scope="class")
    def expected_catalog(self, project):
        return spark_catalog(expected_catalog.expected_references_catalog, project, bigint_type="bigint")


def spark_catalog(expected, project, **types) -> dict:
    """The kit's expected catalog with Spark's types and relation types, and no statistics (Iceberg gives
    none through `describe`), columns numbered from 0. A seed's integers are `bigint` (dbt-spark's type for
    a CSV integer). A table's owner is the user the Thrift server runs as, not dbt's (the server does not
    impersonate its clients); an Iceberg view has none: its metadata keeps no owner (a `tblproperties
    ('owner' = ...)` is dropped), so dbt-spark's catalog says "None"."""
    catalog = expected(
        project,
        role=getpass.getuser(),  # the test stack's Thrift server runs as this process's user
        id_type="bigint",
        text_type="string",
        time_type="timestamp",
        view_type="view",
        table_type="table",
        model_stats=expected_catalog.no_stats(),
        **types,
    )
    renumbered = set()  # the kit shares column dicts between nodes
    for node in [*catalog["nodes"].values(), *catalog["sources"].values()]:
        if node["metadata"]["type"] == "view":
            node["metadata"]["owner"] = "None"
        for column in node["columns"].values():
            if type(column["index"]) is int and id(column) not in renumbered:  # the kit counts from 1, Spark from 0
                column["index"] -= 1
                renumbered.add(id(column))
    return catalog


class TestMicrobatch(IcebergProject, BaseMicrobatch):
    """`incremental_strategy: microbatch` (dbt-spark runs each batch as an `insert_overwrite` of its day)."""

    project_name = "microbatch"

    @pytest.fixture(scope="class")
    def microbatch_model_sql(self) -> str:
        return MICROBATCH_MODEL


MICROBATCH_MODEL = """
{{ config(materialized='incremental', incremental_strategy='microbatch', unique_key='id', event_time='event_time',
          batch_size='day', begin=modules.datetime.datetime(2020, 1, 1, 0, 0, 0), partition_by=['days(event_time)']) }}
select * from {{ ref('input_model') }}
"""


class TestUnitTestingTypes(IcebergProject, BaseUnitTestingTypes):
    """dbt unit tests whose fixture rows carry Spark's types."""

    project_name = "unit_testing_types"

    @pytest.fixture
    def data_types(self):
        return [  # (SQL value, its YAML form in the fixture)
            ["1", "1"],
            ["'1'", "1"],
            ["true", "true"],
            ["date'2020-01-02'", "2020-01-02"],
            ["timestamp'2013-11-03 00:00:00'", "2013-11-03 00:00:00"],
            ["cast(1.25 as decimal(18, 2))", "1.25"],
        ]


class TestUnitTestCaseInsensitivity(IcebergProject, BaseUnitTestCaseInsensivity):
    project_name = "unit_testing_case"


class TestUnitTestInvalidInput(IcebergProject, BaseUnitTestInvalidInput):
    project_name = "unit_testing_invalid"


class TestUnitTestQuotedReservedWordColumnNames(
    IcebergProject, reserved_word_kit.BaseUnitTestQuotedReservedWordColumnNames
):
    """A column named after a reserved word, quoted the Spark way (backticks; double quotes make a string)."""

    project_name = "unit_testing_reserved"

    @pytest.fixture(scope="class")
    def models(self):
        return {
            "my_model.sql": reserved_word_kit.my_model_sql,
            "my_upstream_model.sql": "select 1 as `GROUP`",
            "unit_tests.yml": reserved_word_kit.test_my_model_csv_fixtures_yml,
        }


STRATEGY_SEED = "id,pays,valeur,annee\n1,SEN,1.5,2024\n2,CIV,2.5,2024\n3,SEN,3.5,2025\n"
STRATEGY_NEW_ROWS = "id,pays,valeur,annee\n3,SEN,4.5,2025\n4,NER,5.5,2025\n"


def strategy_model(config: str) -> str:
    """An incremental model that reads `mesures` on its first run, `nouvelles` on the later ones (the rows of
    2025 again, one of them revised, and a new one)."""
    return (
        "-- depends_on: {{ ref('nouvelles') }}\n{{ config(" + config + ") }}\n"
        "select * from {{ ref('nouvelles') if is_incremental() else ref('mesures') }}"
    )


STRATEGY_MODELS = {
    "by_append.sql": strategy_model("incremental_strategy='append'"),
    "by_merge.sql": strategy_model("incremental_strategy='merge', unique_key='id'"),
    "by_overwrite.sql": strategy_model("incremental_strategy='insert_overwrite', partition_by=['annee']"),
}

UPDATED_ROWS = "id,pays,valeur,annee\n1,SEN,1.5,2024\n2,CIV,2.5,2024\n3,SEN,4.5,2025\n4,NER,5.5,2025\n"
STRATEGY_EXPECTED = {
    "by_append": UPDATED_ROWS + "3,SEN,3.5,2025\n",  # the first run's row of id 3 stays beside the new one
    "by_merge": UPDATED_ROWS,
    "by_overwrite": UPDATED_ROWS,  # the partition 2025 replaced, 2024 untouched
}


class TestIncrementalStrategies(IcebergProject):
    """The three strategies on Iceberg, on the same rows: `append` adds them all again, `merge` updates the
    row of its key and adds the new one, `insert_overwrite` replaces the partitions the new rows fall in."""

    project_name = "incremental_strategies"
    model_config = {"+materialized": "incremental"}

    @pytest.fixture(scope="class")
    def seeds(self):
        expected = {f"expected_{name}.csv": rows for name, rows in STRATEGY_EXPECTED.items()}
        return {"mesures.csv": STRATEGY_SEED, "nouvelles.csv": STRATEGY_NEW_ROWS, **expected}

    @pytest.fixture(scope="class")
    def models(self):
        return STRATEGY_MODELS

    def test_each_strategy_on_iceberg(self, project):
        assert len(run_dbt(["seed"])) == 5
        for _ in range(2):
            assert len(run_dbt(["run"])) == 3
        for name in STRATEGY_EXPECTED:
            check_relations_equal(project.adapter, [name, f"expected_{name}"])


FIRST_COLUMN_PARTITION_TABLE = """
{{ config(materialized='table', partition_by=['annee']) }}
select annee, pays, valeur from {{ ref('mesures') }}
"""

FIRST_COLUMN_PARTITION_INCREMENTAL = """
{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by=['annee']) }}
select annee, pays, valeur from {{ ref('mesures') }}
{% if is_incremental() %} where annee = 2025 {% endif %}
"""

MEASURES_CSV = "annee,pays,valeur\n2024,SEN,1.5\n2024,CIV,2.5\n2025,SEN,3.5\n"

BY_YEAR_YML = """
version: 2
models:
  - name: by_year
    description: Mesures par année
    columns:
      - name: annee
        description: "Année de l'observation"
      - name: valeur
        description: Valeur observée
"""


class TestPartitionedOnFirstColumn:
    """A model partitioned on its first column: the catalog refuses to create such a table in one
    statement (dbt/README.md); the project's macros create it empty, add its partition field, then fill it."""

    @pytest.fixture(scope="class")
    def project_config_update(self):
        project = iceberg_project("first_column_partition")
        project["models"] = {**ICEBERG, "+persist_docs": {"relation": True, "columns": True}}
        return project

    @pytest.fixture(scope="class")
    def seeds(self):
        return {"mesures.csv": MEASURES_CSV}

    @pytest.fixture(scope="class")
    def models(self):
        return {
            "by_year.sql": FIRST_COLUMN_PARTITION_TABLE,
            "by_year.yml": BY_YEAR_YML,
            "by_year_incremental.sql": FIRST_COLUMN_PARTITION_INCREMENTAL,
        }

    def test_table_and_incremental_partitioned_on_their_first_column(self, project):
        run_dbt(["seed"])
        for _ in range(2):  # created, then replaced (table) and overwritten by partition (incremental)
            assert len(run_dbt(["run"])) == 2
        for model in ("by_year", "by_year_incremental"):
            relation = f"{project.test_schema}.{model}"
            partitions = project.run_sql(
                f"select partition.annee, record_count from {relation}.partitions order by 1", fetch="all"
            )
            assert [tuple(row) for row in partitions] == [(2024, 2), (2025, 1)], model
            assert project.run_sql(f"select sum(valeur) from {relation}", fetch="one")[0] == 7.5
        described = {}
        for name, _, comment in project.run_sql(f"describe {project.test_schema}.by_year", fetch="all"):
            if not name or name.startswith("#"):
                break  # the columns end where the partition section starts
            described[name] = comment
        assert described["annee"] == "Année de l'observation" and described["valeur"] == "Valeur observée"


DOCUMENTED_MODEL = "select 1 as id, 'SEN' as pays"

DOCUMENTED_MODEL_YML = """
version: 2
models:
  - name: documented
    description: "Table documentée : une ligne par pays"
    columns:
      - name: id
        description: "Identifiant de l'exemple"
      - name: pays
        description: Code ISO du pays
"""


class TestPersistDocs:
    """`persist_docs`: the model's and columns' descriptions become Iceberg comments, read by pyiceberg."""

    @pytest.fixture(scope="class")
    def project_config_update(self):
        project = iceberg_project("documented_models")  # not "persist_docs": a project name shadows that macro
        project["models"] = {**ICEBERG, "+materialized": "table", "+persist_docs": {"relation": True, "columns": True}}
        return project

    @pytest.fixture(scope="class")
    def models(self):
        return {"documented.sql": DOCUMENTED_MODEL, "documented.yml": DOCUMENTED_MODEL_YML}

    def test_descriptions_become_iceberg_comments(self, project, running_stack):
        from lakehouse.core.clients import iceberg_catalog

        for _ in range(2):  # created with its comments, then rebuilt: the comments stay
            run_dbt(["run"])
        table = iceberg_catalog(running_stack).load_table(f"{project.test_schema}.documented")
        assert table.properties.get("comment") == "Table documentée : une ligne par pays"
        assert table.schema().find_field("id").doc == "Identifiant de l'exemple"
        assert table.schema().find_field("pays").doc == "Code ISO du pays"
