"""What must the dbt step of `make run` build, given what changed since its last successful build?

Before `make run` builds, `build_inputs` takes what the build reads; after it has built silver and
gold, and published them when the audit is on, `save_build_state` writes `<state>/builds/last_build.json`
and keeps dbt's manifest of that build beside it (`<state>/builds/manifest/manifest.json`). The state
records:
- the current snapshot of every bronze table when the build started;
- a digest of the dbt project (models, macros, seeds, tests, `dbt_project.yml`, packages), one of the
  Great Expectations suites of the audit, and one of the settings that say where dbt reads and writes;
- the main snapshot of every silver and gold table right after the build.

`plan_build` compares all of this with the lake as it is now, and answers with dbt's own selectors:
- nothing changed: no build at all, so no snapshot appears in silver or gold;
- some dbt sources got new rows (their bronze snapshot changed): `source:bceao.<table>+`, the models
  downstream of those sources and their tests;
- the project's code changed: `state:modified+` against the saved manifest (dbt's state comparison);
- both: the union of the two.
A whole build is planned when there is no state yet, when it is unreadable, when the settings or the
Great Expectations suites changed,
when a silver or gold table changed outside dbt (rollback, write by hand) or appeared or disappeared,
or when the catalog cannot be read.

Snapshots that only rewrite files are not changes: compaction and manifest rewrites commit a `replace`
snapshot with the same rows. Bronze tables that are not dbt sources (the ingestion ledger, the
quarantine) are recorded but select nothing: no model reads them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse.core.clients import iceberg_catalog
from lakehouse.core.files import write_private
from lakehouse.core.settings import PROJECT_ROOT, Settings
from lakehouse.core.snapshot_lineage import same_rows_as
from lakehouse.dbt_runner import DBT_DIR, build_target_dir

PROJECT_PARTS = ("dbt_project.yml", "packages.yml", "package-lock.yml", "models", "macros", "seeds", "tests")
QUALITY_SUITES = PROJECT_ROOT / "quality" / "gx" / "expectations"
SETTINGS_READ_BY_DBT = ("CATALOG_NAME", "BRONZE_NAMESPACE", "AUDITED_NAMESPACES", "AUDIT")
CODE_CHANGED = "state:modified+"


@dataclass(frozen=True)
class BuildPlan:
    """What the next dbt build covers: `whole` project, or only `select` (nothing when it is empty)."""

    whole: bool
    select: tuple[str, ...]
    reason: str  # French: why this plan
    state_dir: Path | None = None  # the saved manifest `state:` selectors compare with
    # dbt unit tests check the code of a model on fixed rows, never the data: with the code of the last
    # successful build (which ran them), new data alone does not run them again. dbt recommends keeping
    # them out of production builds; here they still run whenever the code changes, and in every whole build.
    unit_tests: bool = True

    @property
    def excluded_resource_types(self) -> tuple[str, ...]:
        return () if self.unit_tests else ("unit_test",)

    @property
    def nothing(self) -> bool:
        return not self.whole and not self.select


def state_file(settings: Settings) -> Path:
    return settings.state_dir / "builds" / "last_build.json"


def manifest_dir(settings: Settings) -> Path:
    return settings.state_dir / "builds" / "manifest"


def _files_digest(root: Path, parts: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        path = root / part
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path] * path.is_file()
        for file in files:
            digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def project_digest() -> str:
    """SHA-256 of the dbt project's files."""
    return _files_digest(DBT_DIR, PROJECT_PARTS)


def quality_digest() -> str:
    """SHA-256 of the Great Expectations suites the audit runs."""
    return _files_digest(QUALITY_SUITES, (".",))


def settings_digest(settings: Settings) -> str:
    """SHA-256 of the settings that place dbt's inputs and outputs."""
    return hashlib.sha256(b"".join(f"{n}={settings.get(n)}\0".encode() for n in SETTINGS_READ_BY_DBT)).hexdigest()


def _snapshots(catalog: Any, namespaces: list[str]) -> dict[str, int | None]:
    found = {}
    for namespace in namespaces:
        if catalog.namespace_exists(namespace):
            for identifier in sorted(catalog.list_tables(namespace)):
                current = catalog.load_table(identifier).current_snapshot()
                found[".".join(identifier)] = current.snapshot_id if current else None
    return found


def build_inputs(settings: Settings) -> dict[str, Any]:
    """What a build about to start reads: the digests of the project, the settings and the suites, and
    the current snapshot of every bronze table. Taken before the build: a model edited or a file
    registered while it runs is then a change for the next plan, never taken as built."""
    return {
        "project": project_digest(),
        "settings": settings_digest(settings),
        "quality": quality_digest(),
        "sources": _snapshots(iceberg_catalog(settings), [settings.get("BRONZE_NAMESPACE")]),
    }


def save_build_state(settings: Settings, inputs: dict[str, Any]) -> None:
    """Record the inputs (`build_inputs`, taken before the build) and the outputs of the build that just
    succeeded, and keep its dbt manifest."""
    state = {**inputs, "outputs": _snapshots(iceberg_catalog(settings), settings.audited_namespaces)}
    saved = manifest_dir(settings)
    saved.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(build_target_dir(settings) / "manifest.json", saved / "manifest.json")
    write_private(state_file(settings), json.dumps(state, indent=2, sort_keys=True) + "\n")


def _same_rows(table: Any, recorded: int | None) -> bool:
    """The current snapshot is `recorded`, or descends from it through file rewrites only."""
    current = table.current_snapshot()
    if recorded is None or current is None:
        return recorded is None and current is None
    return same_rows_as(table, current.snapshot_id, {recorded}) is not None


def source_selectors(manifest: Path) -> dict[str, str]:
    """ "namespace.table" of each dbt source → its dbt selector `source:<source>.<table>`."""
    sources = json.loads(manifest.read_text())["sources"].values()
    return {f"{s['schema']}.{s['identifier']}": f"source:{s['source_name']}.{s['name']}" for s in sources}


def _whole(reason: str) -> BuildPlan:
    return BuildPlan(whole=True, select=(), reason=reason)


def plan_build(settings: Settings) -> BuildPlan:
    """The build that brings silver and gold up to date with bronze and with the project's code."""
    try:
        state = json.loads(state_file(settings).read_text())
    except FileNotFoundError:
        return _whole("première construction")
    except (OSError, ValueError) as error:
        return _whole(f"état de la dernière construction illisible ({error})")
    manifest = manifest_dir(settings) / "manifest.json"
    if "settings" not in state or "quality" not in state or not manifest.is_file():
        return _whole("état de la dernière construction d'une version précédente")
    if state["settings"] != settings_digest(settings):
        return _whole("réglages changés depuis la dernière construction (catalogue, namespaces ou audit)")
    if state["quality"] != quality_digest():
        return _whole("suites Great Expectations modifiées : tout est reconstruit et validé")
    try:
        catalog = iceberg_catalog(settings)
        outputs = _snapshots(catalog, settings.audited_namespaces)
        if set(outputs) != set(state["outputs"]):
            changed = sorted(set(outputs) ^ set(state["outputs"]))
            return _whole(f"tables silver/gold apparues ou disparues : {', '.join(changed)}")
        for identifier, snapshot_id in state["outputs"].items():
            if not _same_rows(catalog.load_table(identifier), snapshot_id):
                return _whole(f"{identifier} a changé hors de dbt depuis la dernière construction")
        selectors = source_selectors(manifest)
        sources = _snapshots(catalog, [settings.get("BRONZE_NAMESPACE")])
        changed_sources = sorted(
            identifier
            for identifier in sources
            if identifier in selectors
            and (
                identifier not in state["sources"]
                or not _same_rows(catalog.load_table(identifier), state["sources"][identifier])
            )
        )
    except Exception as error:  # catalog trouble: build everything, dbt will say what is wrong
        return _whole(f"catalogue illisible ({error})")
    select = tuple(f"{selectors[identifier]}+" for identifier in changed_sources)
    reasons = [f"nouvelles données dans {', '.join(changed_sources)}"] if changed_sources else []
    if state["project"] != project_digest():
        select += (CODE_CHANGED,)
        reasons.append("code du projet dbt modifié (comparé au manifeste de la dernière construction)")
    if not select:
        return BuildPlan(
            whole=False,
            select=(),
            reason=(
                f"rien à construire : les {len(state['sources'])} tables bronze, le projet dbt et les "
                f"{len(state['outputs'])} tables silver et gold sont ceux de la dernière construction réussie "
                "(dbt non lancé ; FULL=1 pour reconstruire)"
            ),
        )
    code_changed = CODE_CHANGED in select
    if not code_changed:
        reasons.append("tests unitaires dbt non relancés : code inchangé depuis la dernière construction réussie")
    return BuildPlan(
        whole=False,
        select=select,
        reason=" ; ".join(reasons),
        state_dir=manifest.parent,
        unit_tests=code_changed,
    )
