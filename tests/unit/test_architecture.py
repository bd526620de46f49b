"""Imports go one way: core below, job packages in the middle, orchestration on top.

- `lakehouse.core` (settings, streams, errors, reporting, files, clients, Java/Spark runtime)
  imports no other project package;
- the job packages `lakehouse_ingestion` and `lakehouse_spark` import only `lakehouse.core`
  (and themselves), never each other;
- `lakehouse_dev` (BCEAO stand-in, throwaway stacks) imports only `lakehouse.core`, and no
  production package (core or jobs) imports it;
- the orchestration (`lakehouse.cli`, `lakehouse.pipeline`, `lakehouse.stack`, ...) may import
  everything below it.

Every import counts, including those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lakehouse.core.settings import PROJECT_ROOT

PACKAGE_DIRS = {
    "lakehouse": PROJECT_ROOT / "lakehouse",
    "lakehouse_ingestion": PROJECT_ROOT / "ingestion" / "lakehouse_ingestion",
    "lakehouse_spark": PROJECT_ROOT / "spark" / "lakehouse_spark",
    "lakehouse_dev": PROJECT_ROOT / "dev" / "lakehouse_dev",
}
PROJECT_PACKAGES = ("lakehouse", "lakehouse_ingestion", "lakehouse_spark", "lakehouse_dev", "bench", "tests")


def layer_of(module: str) -> str:
    """core, jobs, dev or orchestration."""
    if module == "lakehouse.core" or module.startswith("lakehouse.core."):
        return "core"
    if module.split(".")[0] in ("lakehouse_ingestion", "lakehouse_spark"):
        return "jobs"
    if module.split(".")[0] == "lakehouse_dev":
        return "dev"
    return "orchestration"


def allowed(importer: str, imported: str) -> bool:
    """May module `importer` import project module `imported`?"""
    own_package = importer.split(".")[0]
    target_layer = layer_of(imported)
    layer = layer_of(importer)
    if layer == "core":
        return target_layer == "core"
    if layer in ("jobs", "dev"):
        return target_layer == "core" or imported.split(".")[0] == own_package
    return imported.split(".")[0] not in ("bench", "tests")


def project_imports(module: str, source: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, module) of every import of a project package in `source`, relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                anchor = parts if is_package else parts[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [base] if node.module else [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [(node.lineno, name) for name in names if name.split(".")[0] in PROJECT_PACKAGES]
    return found


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    return [
        f"{module}:{line} importe {imported} ({layer_of(module)} → {layer_of(imported)})"
        for line, imported in project_imports(module, source, is_package)
        if not allowed(module, imported)
    ]


def project_modules() -> list[tuple[str, Path]]:
    modules = []
    for package, folder in PACKAGE_DIRS.items():
        for path in sorted(folder.rglob("*.py")):
            relative = path.relative_to(folder).with_suffix("")
            parts = [package, *relative.parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules.append((".".join(parts), path))
    return modules


def test_every_module_imports_only_what_its_layer_allows():
    found = []
    for module, path in project_modules():
        found += violations(module, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py")
    assert not found, "imports à contresens :\n" + "\n".join(found)


def test_the_modules_of_every_layer_are_found():
    layers = {layer_of(module) for module, _ in project_modules()}
    assert layers == {"core", "jobs", "dev", "orchestration"}


@pytest.mark.parametrize(
    "module, source",
    [
        ("lakehouse.core.settings", "def f():\n    from lakehouse.stack import up\n"),
        ("lakehouse.core.clients", "import lakehouse_spark.session\n"),
        ("lakehouse.core.jars", "from lakehouse import pipeline\n"),
        ("lakehouse_spark.register", "from lakehouse.services.process import port_is_free\n"),
        ("lakehouse_spark.register", "from lakehouse_ingestion.lake_store import LakeStore\n"),
        ("lakehouse_ingestion.ingest", "from lakehouse_dev.api_server import start_api_server\n"),
        ("lakehouse_ingestion.ingest", "from lakehouse import stack\n"),
        ("lakehouse_dev.sandbox", "from lakehouse.stack import up\n"),
        ("lakehouse.cli", "from tests.cli_runner import run_cli\n"),
        ("lakehouse.core", "from .. import cli\n"),
    ],
)
def test_an_import_against_the_direction_is_reported(module, source):
    assert violations(module, source, is_package=module == "lakehouse.core")


@pytest.mark.parametrize(
    "module, source",
    [
        (
            "lakehouse.core.streams",
            "from lakehouse.core.settings import CONF_DIR\nfrom .errors import LakehouseError\n",
        ),
        (
            "lakehouse_spark.register",
            "from lakehouse.core.clients import s3_filesystem\nfrom lakehouse_spark import schema_drift\n",
        ),
        ("lakehouse_dev.api_server", "from lakehouse_dev import dataset\n"),
        (
            "lakehouse.pipeline",
            "from lakehouse_spark.maintenance import JOBS\nfrom lakehouse.bceao_api import ingest_from_bceao\n",
        ),
    ],
)
def test_imports_along_the_direction_are_accepted(module, source):
    assert violations(module, source) == []
