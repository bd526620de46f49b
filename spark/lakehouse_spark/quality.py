"""Great Expectations suites (quality/gx/expectations, one per table) run on Spark DataFrames read from
the Iceberg tables, on `main` or on an audit branch; results become `Outcome`s (one per expectation),
GX Data Docs under the state folder, and rows of `quality.validation_results`.

A suite names its table in `meta.lakehouse.table` (`$bronze` stands for the bronze namespace of the
settings) and its key columns in `meta.lakehouse.keys` (used to show offending rows). Severity comes
from GX: `critical` expectations block a publication, `warning` and `info` are reported.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse.core.branches import ref_snapshot
from lakehouse.core.clients import iceberg_catalog
from lakehouse.core.errors import LakehouseError
from lakehouse.core.numbers import number, seconds
from lakehouse.core.reporting import Reporter, silent
from lakehouse.core.settings import PROJECT_ROOT, Settings
from lakehouse.core.snapshot_lineage import same_rows_as
from lakehouse.core.web_assets import localize_site

QUALITY_PROJECT = PROJECT_ROOT / "quality" / "gx"
RESULTS_TABLE = "validation_results"
SAMPLE_SIZE = 5
BLOCKING = "critical"


class QualityError(LakehouseError):
    """A suite cannot be run as written (unknown table, unreadable suite)."""


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    table: str  # namespace.table, `$bronze` resolved
    layer: str
    keys: tuple[str, ...]


@dataclass
class Outcome:
    """One expectation of one suite on one table, validated."""

    suite: str
    table: str
    layer: str
    snapshot_id: int | None
    expectation: str
    column: str | None
    severity: str
    success: bool
    observed: str
    sample: list[str] = field(default_factory=list)
    description: str | None = None

    @property
    def blocking(self) -> bool:
        return not self.success and self.severity == BLOCKING

    def line(self) -> str:
        """One French line: table, column, expectation, observed value, sample of offending keys."""
        what = self.description or self.expectation
        text = f"{self.table} · {self.column or '(table)'} · {self.expectation}"
        if self.description:
            text += f" ({what})"
        text += f" : observé {self.observed}"
        if self.sample:
            text += " ; exemples : " + ", ".join(self.sample)
        return text


def load_suite_specs(settings: Settings, project: Path = QUALITY_PROJECT) -> list[SuiteSpec]:
    specs = []
    for path in sorted((project / "expectations").glob("*.json")):
        try:
            document = json.loads(path.read_text())
            meta = document["meta"]["lakehouse"]
            specs.append(
                SuiteSpec(
                    name=document["name"],
                    table=_resolve(meta["table"], settings),
                    layer=meta["layer"],
                    keys=tuple(meta.get("keys", [])),
                )
            )
        except (ValueError, KeyError, TypeError) as error:
            raise QualityError(
                f"suite illisible {path} : {error!r} (attendu : meta.lakehouse.table et .layer)"
            ) from None
    return specs


def _resolve(text: str, settings: Settings) -> str:
    return text.replace("$bronze", settings.get("BRONZE_NAMESPACE"))


def working_project(settings: Settings, project: Path = QUALITY_PROJECT) -> Path:
    """Copy the GX project (configuration and suites, `$bronze` resolved) under the state folder."""
    root = settings.quality_dir / "gx"
    (root / "uncommitted").mkdir(parents=True, exist_ok=True)
    shutil.copy2(project / "great_expectations.yml", root / "great_expectations.yml")
    expectations = root / "expectations"
    shutil.rmtree(expectations, ignore_errors=True)
    expectations.mkdir()
    for path in (project / "expectations").glob("*.json"):
        (expectations / path.name).write_text(_resolve(path.read_text(), settings))
    return root


def data_docs_index(settings: Settings) -> Path:
    return settings.quality_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def great_expectations() -> Any:
    """The `great_expectations` module, imported without usage statistics and without the deprecation
    warnings its imports raise (sre_constants, distutils through pyspark's pandas check)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    with quiet_third_parties():
        import great_expectations as gx
        import great_expectations.core.validation_definition  # noqa: F401
        import great_expectations.data_context.types.base  # noqa: F401
    return gx


@contextmanager
def quiet_third_parties() -> Iterator[None]:
    """Deprecation and future warnings of GX and its dependencies are theirs to fix, not the user's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


def _gx_context(settings: Settings) -> Any:
    gx = great_expectations()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=str(working_project(settings).parent))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def run_suites(
    spark: Any,
    settings: Settings,
    layers: Iterable[str],
    branch: str | None = None,
    out: Reporter = silent,
    skip_validated: bool = False,
    reuse_passed: frozenset[str] = frozenset(),
) -> list[Outcome]:
    """Validate the suites of `layers`; tables that have `branch` are read on it (spark.wap.branch).
    With `skip_validated`, a table whose snapshot already has results in `quality.validation_results`
    for the same suite is not validated again (its data has not changed). A table named in
    `reuse_passed` ("namespace.table") is not validated again when its snapshot already passed the same
    suite, every blocking expectation satisfied."""
    great_expectations()
    from great_expectations.core.validation_definition import ValidationDefinition

    layers = list(layers)
    keep_runs = settings.get_count("DATA_DOCS_KEEP_RUNS", at_least=1)  # a bad value is said before any suite runs
    specs = [spec for spec in load_suite_specs(settings) if spec.layer in layers]
    context = _gx_context(settings)
    source = context.data_sources.add_or_update_spark("lakehouse")
    catalog = iceberg_catalog(settings)
    outcomes: list[Outcome] = []
    validated = validated_snapshots(spark, settings) if skip_validated else set()
    passed = validated_snapshots(spark, settings, passed_only=True) if reuse_passed else set()
    if branch:
        spark.conf.set("spark.wap.branch", branch)
    try:
        for spec in specs:
            identifier = tuple(spec.table.split("."))
            if not catalog.table_exists(identifier):
                out(f"{spec.table} : table absente, suite {spec.name} non lancée")
                continue
            loaded = catalog.load_table(identifier)
            table_branch = branch if branch and branch in loaded.metadata.refs else None
            snapshot = ref_snapshot(loaded, table_branch or "main")
            if (spec.table, snapshot, spec.name) in validated:
                out(f"{spec.table} : snapshot {snapshot} déjà validé par {spec.name}")
                continue
            if spec.table in reuse_passed:
                same_rows = same_rows_as(
                    loaded, snapshot, {s for t, s, n in passed if (t, n) == (spec.table, spec.name)}
                )
                if same_rows is not None:
                    out(
                        f"{spec.table} : inchangée par cette construction, mêmes lignes que le snapshot {same_rows} "
                        f"déjà validé par {spec.name}"
                    )
                    continue
            started = datetime.now(UTC)
            dataframe = spark.table(f"{settings.catalog_name}.{spec.table}")
            asset = _dataframe_asset(source, spec.name)
            batch = (
                asset.get_batch_definition("all")
                if "all" in [b.name for b in asset.batch_definitions]
                else (asset.add_batch_definition_whole_dataframe("all"))
            )
            definition = context.validation_definitions.add_or_update(
                ValidationDefinition(name=spec.name, data=batch, suite=context.suites.get(spec.name))
            )
            result = _validate(definition, dataframe, spec, "BASIC")
            if not result.success:  # the rows behind a failure: the summary, with the keys of the rows
                result = _validate(definition, dataframe, spec, "SUMMARY")
            found = [_outcome(spec, snapshot, item) for item in result.results]
            outcomes.extend(found)
            failed = sum(1 for o in found if not o.success)
            out(
                f"{spec.table}{' @' + table_branch if table_branch else ''} : {len(found) - failed}/{len(found)} "
                f"attentes satisfaites ({seconds((datetime.now(UTC) - started).total_seconds())})"
            )
    finally:
        # GX persists each batch; Spark would then answer later reads of the same table (even
        # `VERSION AS OF 'main'`) from the cached branch rows.
        spark.catalog.clearCache()
        if branch:
            spark.conf.unset("spark.wap.branch")
    prune_validation_results(settings, keep_runs)
    with quiet_third_parties():
        context.build_data_docs()
    for left in localize_site(settings, data_docs_index(settings).parent):  # readable offline
        out(f"Data Docs : adresse externe encore chargée par {left}")
    return outcomes


def prune_validation_results(settings: Settings, keep: int) -> int:
    """Keep the `keep` newest validation results of each suite in GX's store, and their Data Docs pages.
    GX renders a page for every stored result at every build of the Data Docs: without this, each daily run
    would take longer than the one before (about 40 ms per stored result on 2 cores). Nothing is lost:
    `quality.validation_results` keeps every outcome. Returns how many results were removed."""
    root = settings.quality_dir / "gx" / "uncommitted"
    store, pages = root / "validations", root / "data_docs" / "local_site" / "validations"
    removed = 0
    for suite in sorted(store.iterdir()) if store.is_dir() else []:
        # <suite>/<run name>/<run time>/<batch>.json; run times (20261206T014300.934357Z) sort as they happened
        runs = sorted((run for run in suite.glob("*/*") if run.is_dir()), key=lambda run: run.name)
        for old in runs[:-keep]:
            # page first: a process killed in between leaves a result whose page the next build makes again.
            # A folder that cannot be removed stays for the next run: tidying never fails a validation.
            shutil.rmtree(pages / old.relative_to(store), ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)
            removed += not old.exists()
    return removed


def _validate(definition: Any, dataframe: Any, spec: SuiteSpec, result_format: str) -> Any:
    """One validation of the suite. BASIC gives the counts and a few unexpected values (what `observed`
    shows); SUMMARY adds the keys of unexpected rows, at the cost of about one Spark job per expectation
    even when it passes (3 bronze suites, warm JVM: 3,4 s in BASIC against 5,0 s in SUMMARY): it is asked
    only for a suite that failed."""
    with quiet_third_parties():
        return definition.run(
            batch_parameters={"dataframe": dataframe},
            result_format={
                "result_format": result_format,
                "unexpected_index_column_names": list(spec.keys),
                "partial_unexpected_count": SAMPLE_SIZE,
            },
        )


def validated_snapshots(spark: Any, settings: Settings, passed_only: bool = False) -> set[tuple[str, int, str]]:
    """(table, snapshot id, suite) already recorded in `quality.validation_results`; with `passed_only`,
    only those whose every validation satisfied all blocking expectations."""
    table = results_table(settings)
    if not spark.catalog.tableExists(table):
        return set()
    having = f" HAVING count_if(NOT success AND severity = '{BLOCKING}') = 0" if passed_only else ""
    rows = spark.sql(f"SELECT table_name, snapshot_id, suite FROM {table} GROUP BY 1, 2, 3{having}").collect()
    return {(row[0], row[1], row[2]) for row in rows}


def results_table(settings: Settings) -> str:
    return f"{settings.catalog_name}.{settings.quality_namespace}.{RESULTS_TABLE}"


def _dataframe_asset(source: Any, name: str) -> Any:
    try:
        return source.get_asset(name)
    except LookupError:
        return source.add_dataframe_asset(name)


def _outcome(spec: SuiteSpec, snapshot: int | None, item: Any) -> Outcome:
    config = item.expectation_config
    kwargs = config.kwargs
    column = kwargs.get("column") or (", ".join(kwargs["column_list"]) if kwargs.get("column_list") else None)
    result = item.result or {}
    return Outcome(
        suite=spec.name,
        table=spec.table,
        layer=spec.layer,
        snapshot_id=snapshot,
        expectation=config.type,
        column=column,
        severity=str(getattr(config, "severity", BLOCKING) or BLOCKING).split(".")[-1].lower(),
        success=bool(item.success),
        observed=_observed(result, item),
        sample=[] if item.success else _sample(result, spec.keys),
        description=config.description,
    )


def _observed(result: dict, item: Any) -> str:
    if item.exception_info and item.exception_info.get("raised_exception"):
        return "erreur : " + str(item.exception_info.get("exception_message", ""))[:200]
    if "unexpected_count" in result:
        count = result.get("unexpected_count") or 0
        text = f"{count} valeur(s) inattendue(s)"
        if result.get("unexpected_percent") is not None:
            text += f" ({number(result['unexpected_percent'], 2)} %)"
        values = result.get("partial_unexpected_list") or []
        if values and count:
            text += " : " + ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values[:SAMPLE_SIZE])
        return text
    observed = result.get("observed_value")
    if isinstance(observed, int | float) and "unexpected_rows_query" in item.expectation_config.kwargs:
        return f"{observed} ligne(s)"
    return json.dumps(observed, ensure_ascii=False, default=str)[:200]


def _sample(result: dict, keys: tuple[str, ...]) -> list[str]:
    rows = result.get("partial_unexpected_index_list") or (result.get("details") or {}).get("unexpected_rows") or []
    sample = []
    for row in rows[:SAMPLE_SIZE]:
        values = row.asDict() if hasattr(row, "asDict") else row
        if isinstance(values, dict):
            shown = [values.get(key) for key in keys if key in values] or list(values.values())[:3]
        else:
            shown = list(values)[:3]
        sample.append("(" + ", ".join(str(v) for v in shown) + ")")
    return sample


def record_outcomes(spark: Any, settings: Settings, outcomes: list[Outcome], run_id: str, branch: str | None) -> str:
    """Append the outcomes to `quality.validation_results`; return the table's name."""
    from pyspark.sql import types as T

    table = results_table(settings)
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {settings.catalog_name}.{settings.quality_namespace}")
    spark.sql(
        f"""CREATE TABLE IF NOT EXISTS {table} (
            run_id STRING COMMENT 'exécution (make run ou make quality)',
            validated_at TIMESTAMP COMMENT 'heure de la validation (UTC)',
            layer STRING COMMENT 'bronze, silver ou gold',
            table_name STRING COMMENT 'table validée (namespace.table)',
            branch STRING COMMENT 'branche lue : main ou une branche audit_*',
            snapshot_id BIGINT COMMENT 'snapshot Iceberg validé',
            suite STRING COMMENT 'suite Great Expectations',
            expectation STRING COMMENT 'attente',
            column_name STRING COMMENT 'colonne(s) visée(s)',
            severity STRING COMMENT 'critical (bloque la publication), warning ou info',
            success BOOLEAN COMMENT 'attente satisfaite',
            observed_value STRING COMMENT 'valeur observée',
            sample_keys STRING COMMENT 'exemples de clés fautives'
        ) USING iceberg PARTITIONED BY (days(validated_at))"""
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    schema = spark.table(table).schema
    rows = [
        (
            run_id,
            now,
            o.layer,
            o.table,
            branch if branch else "main",
            o.snapshot_id,
            o.suite,
            o.expectation,
            o.column,
            o.severity,
            o.success,
            o.observed,
            "; ".join(o.sample) or None,
        )
        for o in outcomes
    ]
    if rows:
        spark.createDataFrame(rows, T.StructType(schema.fields)).writeTo(table).append()
    return table


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
