"""Lecture rapide du lakehouse sans JVM : scans pyiceberg (projection et filtres poussés) + DuckDB.

For analysts and notebooks that only read: a query names tables by their usual names
(`gold.gold_mart_uemoa_convergence`, `silver.dim_uemoa_indicators`, `bronze....`); each table
it references is scanned by pyiceberg into Arrow — only the columns the query mentions, and,
for a query on a single table, the rows its top-level `WHERE ... AND ...` comparisons keep —
then DuckDB runs the query on those Arrow tables. DuckDB re-applies the whole query, so what
is pushed down only saves reading; it never changes the answer.

Time travel: `snapshots={"gold.t": snapshot_id}` or `as_of=<timestamp>` (every table read as
it was at that instant). Only SELECT queries are accepted: this path never writes.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lakehouse.core.clients import ServiceUnavailable, iceberg_catalog
from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.core.instants import parse_utc_instant
from lakehouse.core.settings import Settings, load_settings
from lakehouse.fast_scan import PLAN_CACHE_ENTRIES, SnapshotScanner

# The three analyst queries of the `read_gold` bench and of notebook 04 (Spark and DuckDB accept them as is).
ANALYST_QUERIES = {
    "recherche ponctuelle (pays, trimestre)": (
        "select pays, annee, trimestre, pib_reel, pib_reel_yoy_pct from gold.gold_kpi_uemoa_growth_yoy "
        "where pays = 'SEN' and annee = 2024 and trimestre = 4"
    ),
    "filtre sur une année": (
        "select pays, dette_pib_pct, critere_dette_respecte from gold.gold_mart_uemoa_convergence where annee = 2024"
    ),
    "agrégat de l'Union": (
        "select annee, round(avg(taux_inflation_pct), 2) as inflation_moyenne_pct, "
        "round(sum(pib_nominal), 2) as pib_nominal_total "
        "from gold.gold_mart_uemoa_union_aggregates group by annee order by annee"
    ),
}

COMPARISONS = {
    "COMPARE_EQUAL": "==",
    "COMPARE_NOTEQUAL": "!=",
    "COMPARE_LESSTHAN": "<",
    "COMPARE_GREATERTHAN": ">",
    "COMPARE_LESSTHANOREQUALTO": "<=",
    "COMPARE_GREATERTHANOREQUALTO": ">=",
}
SCAN_CACHE_ENTRIES = 32
MIRRORED = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}


class FastReadError(LakehouseError):
    """A query the fast path cannot answer: bad SQL, unknown table or snapshot; one French line."""


@dataclass(frozen=True)
class TableRef:
    """A table named in a query, and the Iceberg identifier it resolves to."""

    schema: str
    name: str

    @property
    def identifier(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class QueryShape:
    """What the fast path reads from a SELECT: its tables, the columns it names, pushable filters."""

    tables: list[TableRef]
    columns: set[str] = field(default_factory=set)  # lower-case names mentioned anywhere
    all_columns: bool = False  # a `*` somewhere: read every column
    conjuncts: list[tuple[str, str, Any]] = field(default_factory=list)  # (column, op, value or values)


# -- parsing (DuckDB's own parser, through json_serialize_sql) ---------------------------
def _walk(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _constant(node: dict) -> tuple[bool, Any]:
    """(True, python value) for a plain literal (number, string, boolean), else (False, None)."""
    if node.get("class") != "CONSTANT":
        return False, None
    literal = node.get("literal") or {}
    kind, text = literal.get("kind"), literal.get("text")
    try:
        if kind == "INTEGER":
            return True, int(text)
        if kind == "NUMERIC":
            return True, float(text)
        if kind == "STRING":
            return True, str(text)
        if kind == "BOOLEAN":
            return True, str(text).lower() == "true"
    except (TypeError, ValueError):
        pass
    return False, None  # NULL, casts (dates, decimals...): left to DuckDB


def _column(node: dict, qualifiers: frozenset[str] = frozenset()) -> str | None:
    """The column a COLUMN_REF names: `col`, or `t.col` when `t` is the table or its alias."""
    if node.get("class") != "COLUMN_REF":
        return None
    names = [name.lower() for name in node["column_names"]]
    if len(names) == 1 or (len(names) == 2 and names[0] in qualifiers):
        return names[-1]
    return None  # a struct field (`_airbyte_meta.changes`): never pushed down


def _conjuncts(where: dict | None) -> Iterator[dict]:
    if not where:
        return
    if where.get("class") == "CONJUNCTION" and where.get("type") == "CONJUNCTION_AND":
        for child in where.get("children", []):
            yield from _conjuncts(child)
    else:
        yield where


def _pushable(condition: dict, qualifiers: frozenset[str]) -> tuple[str, str, Any] | None:
    kind = condition.get("type", "")
    if kind in COMPARISONS:
        left, right = condition.get("left", {}), condition.get("right", {})
        if _column(left, qualifiers):
            ok, value = _constant(right)
            return (_column(left, qualifiers), COMPARISONS[kind], value) if ok else None
        if _column(right, qualifiers):
            ok, value = _constant(left)
            return (_column(right, qualifiers), MIRRORED[COMPARISONS[kind]], value) if ok else None
        return None
    if kind == "COMPARE_IN":
        children = condition.get("children", [])
        if children and _column(children[0], qualifiers):
            values = [_constant(child) for child in children[1:]]
            if values and all(ok for ok, _ in values):
                return _column(children[0], qualifiers), "in", [value for _, value in values]
    return None


SQL_ERRORS = (
    (
        re.compile(r'(?:Parser Error: )?syntax error at or near "(?P<token>.*)"'),
        "erreur de syntaxe près de « {token} »",
    ),
    (re.compile(r"(?:Parser Error: )?syntax error at end of input"), "erreur de syntaxe : la requête est incomplète"),
    (
        re.compile(r'Binder Error: Referenced column "?(?P<column>[^"]+)"? not found in FROM clause!?(?P<rest>.*)'),
        "colonne « {column} » absente des tables lues{rest}",
    ),
    (
        re.compile(r"Catalog Error: Table with name (?P<table>\S+) does not exist!?.*"),
        "table « {table} » inconnue (`make sql` sans Q liste les tables)",
    ),
    (
        re.compile(r"Catalog Error: Scalar Function with name (?P<name>\S+) does not exist!?.*"),
        "fonction « {name} » inconnue",
    ),
    (
        re.compile(r"Conversion Error: Could not convert string (?P<value>'.*') to (?P<type>\w+).*"),
        "conversion impossible de {value} en {type}",
    ),
    (
        re.compile(r"Binder Error: No function matches the given name and argument types (?P<call>'.*?')\..*"),
        "aucune fonction ne correspond à {call} (types des arguments)",
    ),
)


def french_sql_error(message: str) -> str:
    """A DuckDB error in French; one that is not translated is introduced in French, its detail kept."""
    text = message.strip()
    for pattern, french in SQL_ERRORS:
        match = pattern.fullmatch(text)
        if match:
            values = match.groupdict()
            if "rest" in values:
                candidates = re.search(r"Candidate bindings: (.*)", values["rest"])
                values["rest"] = f" (colonnes proches : {candidates.group(1)})" if candidates else ""
            return french.format(**values)
    return f"erreur de DuckDB (détail en anglais) : {text}"


def query_shape(sql: str) -> QueryShape:
    """Parse one SELECT with DuckDB; refuse anything else in one French line."""
    import duckdb

    statement = sql.strip().rstrip(";").strip()
    if not statement:
        raise FastReadError('requête vide : donnez une requête SELECT (Q="select ...")')
    try:
        parsed = json.loads(duckdb.execute("select json_serialize_sql(?)", [statement]).fetchone()[0])
    except duckdb.Error as error:
        raise FastReadError(f"requête illisible : {french_sql_error(first_line(error))}") from None
    if parsed.get("error"):
        message = parsed.get("error_message", "")
        if "Only SELECT" in message or "only select" in message.lower():
            raise FastReadError("seules les requêtes SELECT sont acceptées : la lecture rapide n'écrit jamais")
        raise FastReadError(f"SQL invalide : {french_sql_error(message)}")
    statements = parsed.get("statements", [])
    if len(statements) != 1:
        raise FastReadError(f"une seule requête à la fois ({len(statements)} reçues)")
    tree = statements[0]
    ctes = {
        entry["key"].lower()
        for node in _walk(tree)
        for entry in (node.get("cte_map") or {}).get("map") or []
        if isinstance(entry, dict) and "key" in entry
    }
    tables: list[TableRef] = []
    for node in _walk(tree):
        if node.get("type") == "BASE_TABLE" and "table_name" in node:
            schema, name = node.get("schema_name", ""), node["table_name"]
            if not schema and name.lower() in ctes:
                continue
            ref = TableRef(schema.lower(), name.lower())
            if ref not in tables:
                tables.append(ref)
    shape = QueryShape(tables=tables)
    for node in _walk(tree):
        if node.get("class") == "STAR" or node.get("ref_type") == "NATURAL":
            shape.all_columns = True  # NATURAL JOIN: its join columns are named nowhere
        if node.get("class") == "COLUMN_REF":  # every part: `t.col`, `struct_col.field` (a superset is harmless)
            shape.columns.update(name.lower() for name in node["column_names"])
        shape.columns.update(column.lower() for column in node.get("using_columns") or [] if isinstance(column, str))
    node = tree.get("node", {})
    source = node.get("from_table", {})
    if len(tables) == 1 and node.get("type") == "SELECT_NODE" and source.get("type") == "BASE_TABLE":
        qualifiers = frozenset(name.lower() for name in (source.get("table_name"), source.get("alias")) if name)
        conjuncts = (_pushable(condition, qualifiers) for condition in _conjuncts(node.get("where_clause")))
        shape.conjuncts = [found for found in conjuncts if found]
    return shape


# -- reading --------------------------------------------------------------------------
def _row_filter(conjuncts: Iterable[tuple[str, str, Any]], schema: Any) -> tuple[Any, str]:
    """The pyiceberg filter of the comparisons the schema can take, and its description ("aucun" if none)."""
    from pyiceberg import expressions as ex

    builders = {
        "==": ex.EqualTo,
        "!=": ex.NotEqualTo,
        "<": ex.LessThan,
        ">": ex.GreaterThan,
        "<=": ex.LessThanOrEqual,
        ">=": ex.GreaterThanOrEqual,
        "in": ex.In,
    }
    names = {f.name.lower(): f.name for f in schema.fields}
    expression, described = ex.AlwaysTrue(), []
    for column, op, value in conjuncts:
        if column not in names:
            continue
        candidate = builders[op](names[column], value)
        try:  # a literal the column's type cannot hold is left to DuckDB
            ex.visitors.bind(schema, candidate, case_sensitive=True)
        except (ValueError, TypeError):
            continue
        expression = ex.And(expression, candidate)
        shown = f"({', '.join(repr(v) for v in value)})" if op == "in" else repr(value)
        described.append(f"{names[column]} {'=' if op == '==' else op} {shown}")
    return expression, " et ".join(described) or "aucun"


def _timestamp_ms(value: str | datetime) -> int:
    if isinstance(value, str):
        try:
            value = parse_utc_instant(value)
        except ValueError:
            raise FastReadError(
                f"instant illisible {value!r} : attendu AAAA-MM-JJ ou AAAA-MM-JJ HH:MM[:SS] (UTC)"
            ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def _schema_at(table: Any, snapshot_id: int | None) -> Any:
    """The schema a read sees: the current one, or the one a time-travel snapshot was written with (as Spark)."""
    if snapshot_id is None:
        return table.schema()
    schema_id = table.snapshot_by_id(snapshot_id).schema_id
    return table.schemas().get(schema_id, table.schema()) if schema_id is not None else table.schema()


class Lake:
    """A read-only view of the lakehouse for notebooks and `make sql`: `sql()`, `table()`, `tables()`."""

    def __init__(
        self,
        settings: Settings | None = None,
        cache_scans: int = SCAN_CACHE_ENTRIES,
        cache_plans: int = PLAN_CACHE_ENTRIES,
    ) -> None:
        self.settings = settings or load_settings()
        self._catalog: Any = None
        self._duckdb: Any = None
        # A snapshot never changes: what a scan of (table, snapshot, columns, filter) read is kept for
        # the next query (LRU, `cache_scans` entries; 0 = no cache). The current snapshot is still
        # asked from the catalog at every query, so a new commit is always seen.
        self._scans: OrderedDict[tuple, Any] = OrderedDict()
        self.cache_scans = cache_scans
        self._scanner = SnapshotScanner(cache_plans)  # file lists of a snapshot, kept the same way
        self.last_scans: list[dict[str, Any]] = []  # what the last query read, for the curious

    # catalog ----------------------------------------------------------------------
    @property
    def catalog(self) -> Any:
        if self._catalog is None:
            try:
                self._catalog = iceberg_catalog(self.settings)
            except ServiceUnavailable:
                raise
            except Exception as error:
                raise ServiceUnavailable(
                    f"catalogue Iceberg REST injoignable sur {self.settings.catalog_uri} : {first_line(error)} "
                    "(la pile est-elle démarrée ? `make up`)"
                ) from None
        return self._catalog

    def namespaces(self) -> list[str]:
        return sorted(ns[0] for ns in self.catalog.list_namespaces())

    def tables(self, namespace: str | None = None) -> list[str]:
        """`namespace.table` of every table (of one namespace when given)."""
        names = [namespace] if namespace else self.namespaces()
        return sorted(".".join(ident) for ns in names for ident in self.catalog.list_tables(ns))

    def _resolve(self, ref: TableRef) -> TableRef:
        if ref.schema:
            return ref
        matches = [name for name in self.tables() if name.split(".", 1)[1] == ref.name]
        if len(matches) == 1:
            return TableRef(*matches[0].split(".", 1))
        if not matches:
            raise FastReadError(
                f"table inconnue : {ref.name} (aucun namespace ne la contient ; `make sql` sans Q liste les tables)"
            )
        raise FastReadError(f"table ambiguë : {ref.name} existe dans {', '.join(matches)} ; préfixez-la")

    def load(self, identifier: str) -> Any:
        from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

        try:
            return self.catalog.load_table(identifier)
        except (NoSuchTableError, NoSuchNamespaceError):
            if self._is_view(identifier):
                raise FastReadError(
                    f"{identifier} est une vue Iceberg : la lecture rapide ne lit que des tables. Lisez-la par "
                    "Spark (`make beeline`, un notebook), qui résout la vue, ou interrogez ici les tables qu'elle lit"
                ) from None
            namespace = identifier.split(".", 1)[0]
            try:
                known = self.tables(namespace)
            except Exception:
                known = []
            hint = f" (tables de {namespace} : {', '.join(t.split('.', 1)[1] for t in known)})" if known else ""
            raise FastReadError(f"table inconnue : {identifier}{hint}") from None
        except OSError as error:  # requests' connection errors are OSErrors
            raise ServiceUnavailable(
                f"catalogue Iceberg REST injoignable sur {self.settings.catalog_uri} : {first_line(error)}"
            ) from None

    def _is_view(self, identifier: str) -> bool:
        try:
            return bool(self.catalog.view_exists(identifier))
        except Exception:  # a catalog without the view endpoints has no views
            return False

    def _snapshot(self, table: Any, identifier: str, snapshot_id: int | None, as_of: Any) -> int | None:
        if snapshot_id is not None:
            if table.snapshot_by_id(int(snapshot_id)) is None:
                raise FastReadError(f"{identifier} : snapshot {snapshot_id} inconnu (voir `make snapshots`)")
            return int(snapshot_id)
        if as_of is not None:
            snapshot = table.snapshot_as_of_timestamp(_timestamp_ms(as_of))
            if snapshot is None:
                raise FastReadError(f"{identifier} : aucun snapshot à l'instant {as_of} (la table est plus récente)")
            return snapshot.snapshot_id
        return None

    # reading ----------------------------------------------------------------------
    def table(
        self,
        identifier: str,
        columns: Iterable[str] | None = None,
        where: str | Any = None,
        snapshot_id: int | None = None,
        as_of: str | datetime | None = None,
        limit: int | None = None,
    ) -> Any:
        """One table as an Arrow table; `columns`, `where` (pyiceberg syntax) and the snapshot are pushed down."""
        from pyiceberg.expressions import AlwaysTrue

        table = self.load(identifier)
        selected = tuple(columns) if columns else ("*",)
        scan = table.scan(
            row_filter=where if where is not None else AlwaysTrue(),
            selected_fields=selected,
            snapshot_id=self._snapshot(table, identifier, snapshot_id, as_of),
            limit=limit,
        )
        return scan.to_arrow()

    def sql_arrow(
        self, sql: str, snapshots: Mapping[str, int] | None = None, as_of: str | datetime | None = None
    ) -> Any:
        """Run one SELECT; the result as an Arrow table."""
        import duckdb

        shape = query_shape(sql)
        if not shape.tables:
            raise FastReadError("la requête ne lit aucune table du lakehouse (ex. : select * from gold.<table>)")
        wanted = {k.lower(): v for k, v in (snapshots or {}).items()}
        if self._duckdb is None:
            self._duckdb = duckdb.connect()
        connection, views, aliases = self._duckdb, [], []
        self.last_scans = []
        try:
            for position, ref in enumerate(shape.tables):
                resolved = self._resolve(ref)
                table = self.load(resolved.identifier)
                asked = wanted.pop(resolved.identifier, wanted.pop(ref.name, None))
                travel = self._snapshot(table, resolved.identifier, asked, as_of)  # None: the current state
                schema = _schema_at(table, travel)
                if shape.all_columns:
                    selected: tuple[str, ...] = ("*",)
                else:
                    selected = tuple(f.name for f in schema.fields if f.name.lower() in shape.columns)
                    selected = selected or (schema.fields[0].name,)  # count(*): the narrowest read we can ask
                current = table.current_snapshot()
                snapshot = travel if travel is not None else current.snapshot_id if current else None
                row_filter, described = _row_filter(shape.conjuncts if len(shape.tables) == 1 else [], schema)
                key = (table.metadata.table_uuid, snapshot, schema.schema_id, selected, described)
                data, reader = self._scan(key, table, travel, selected, row_filter, described)
                self.last_scans.append(
                    {
                        "table": resolved.identifier,
                        "snapshot_id": snapshot,
                        "colonnes": list(selected),
                        "filtre": described,
                        "lignes_lues": data.num_rows,
                        "cache": reader == "cache",
                        "lecteur": reader,
                    }
                )
                alias = f"__lake_{position}"
                connection.register(alias, data)
                aliases.append(alias)
                connection.execute(f'create schema if not exists "{resolved.schema}"')
                views.append(f'"{resolved.schema}"."{resolved.name}"')
                if not ref.schema:
                    views.append(f'main."{ref.name}"')
                for view in views[-2 if not ref.schema else -1 :]:
                    connection.execute(f"create or replace view {view} as select * from {alias}")
            if wanted:
                raise FastReadError(f"snapshot demandé pour une table absente de la requête : {', '.join(wanted)}")
            try:
                return connection.sql(sql).to_arrow_table()
            except duckdb.Error as error:
                raise FastReadError(f"SQL invalide : {french_sql_error(first_line(error))}") from None
        finally:  # nothing of this query stays visible to the next one
            for view in views:
                connection.execute(f"drop view if exists {view}")
            for alias in aliases:
                connection.unregister(alias)

    def _scan(self, key: tuple, table: Any, travel: int | None, selected: tuple, row_filter: Any, described: str):
        """(Arrow data, where it came from: "cache", "fichiers entiers" or "pyiceberg") of one scan."""
        if key in self._scans:
            self._scans.move_to_end(key)
            return self._scans[key], "cache"
        data, reader = self._scanner.scan(table, travel, selected, row_filter, described)
        if self.cache_scans > 0:
            self._scans[key] = data
            while len(self._scans) > self.cache_scans:
                self._scans.popitem(last=False)
        return data, reader

    def sql(self, sql: str, snapshots: Mapping[str, int] | None = None, as_of: str | datetime | None = None) -> Any:
        """Run one SELECT; the result as a pandas DataFrame (see `sql_arrow` for Arrow)."""
        return self.sql_arrow(sql, snapshots=snapshots, as_of=as_of).to_pandas()


def parse_snapshots(values: Iterable[str], sql: str) -> dict[str, int]:
    """`ID` (the query reads one table) or `table=ID`, repeatable (`make sql SNAPSHOT=...`)."""
    snapshots: dict[str, int] = {}
    for value in values:
        table, _, raw = str(value).rpartition("=")
        if not table:
            tables = query_shape(sql).tables
            if len(tables) != 1:
                raise FastReadError(f"SNAPSHOT={value} : la requête lit {len(tables)} tables, écrivez table=ID")
            table = tables[0].identifier if tables[0].schema else tables[0].name
        if not raw.strip().isdigit():
            raise FastReadError(f"snapshot {raw!r} : un identifiant numérique est attendu (voir `make snapshots`)")
        snapshots[table.strip().lower()] = int(raw)
    return snapshots


def query(sql: str, **options: Any) -> Any:
    """Shortcut for notebooks: `query("select ... from gold.t")` → pandas DataFrame."""
    return Lake().sql(sql, **options)
