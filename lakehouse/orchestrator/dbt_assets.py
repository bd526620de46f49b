"""The dbt project as Dagster asset specs, read from its manifest: one asset per model and snapshot (key
`<namespace>/<table>`, the Iceberg table it writes), its sources mapped to the bronze assets, one asset
check per dbt data test. `make orchestrator` writes the manifest (`dbt parse`, no connection) before Dagster
loads the definitions."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import AssetCheckKey, AssetCheckSpec, AssetKey, AssetSpec
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings
from dagster_dbt.asset_utils import build_dbt_specs, get_asset_check_key_for_test

from lakehouse.core.errors import LakehouseError
from lakehouse.core.settings import Settings
from lakehouse.dbt_runner import PUBLISHED_TARGET, dbt_command
from lakehouse.services.dagster import dagster_home


class ManifestMissing(LakehouseError):
    """The orchestrator's dbt manifest was never written."""


def manifest_path(settings: Settings) -> Path:
    return dagster_home(settings) / "dbt-target" / "manifest.json"


def _digest_file(settings: Settings) -> Path:
    return manifest_path(settings).parent / "project.sha256"


def manifest_outdated(settings: Settings) -> bool:
    """Has the dbt project changed since the orchestrator's manifest was written (or is there none)?"""
    from lakehouse.build_state import project_digest

    digest = _digest_file(settings)
    return not (manifest_path(settings).is_file() and digest.is_file() and digest.read_text() == project_digest())


def write_manifest(settings: Settings, only_if_changed: bool = False) -> Path:
    """`dbt parse` of the project into the orchestrator's folder (about 10 s, no connection); with
    `only_if_changed`, not again while the project's files are those of the manifest there."""
    from lakehouse.build_state import project_digest

    path = manifest_path(settings)
    if only_if_changed and not manifest_outdated(settings):
        return path
    digest = project_digest()
    command, env, cwd = dbt_command(
        settings, ["parse", "--no-use-colors", "--target", PUBLISHED_TARGET, "--target-path", str(path.parent)]
    )
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
        raise LakehouseError(f"dbt parse en échec : le projet dbt ne se lit pas ; corrigez-le, puis relancez :\n{tail}")
    _digest_file(settings).write_text(digest)
    return path


def load_manifest(settings: Settings) -> dict[str, Any]:
    path = manifest_path(settings)
    if not path.is_file():
        raise ManifestMissing(f"manifeste dbt de l'orchestrateur absent ({path}) : lancez `make orchestrator`")
    return json.loads(path.read_text(encoding="utf-8"))


class LakehouseTranslator(DagsterDbtTranslator):
    """Keys are the Iceberg tables: `silver/dim_uemoa_indicators`, `gold/<mart>`; a source is its bronze table."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey(["bronze", dbt_resource_props["name"]])
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props.get("alias") or dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return None if dbt_resource_props["resource_type"] == "source" else dbt_resource_props["schema"]


TRANSLATOR = LakehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def dbt_specs(manifest: Mapping[str, Any]) -> tuple[list[AssetSpec], list[AssetCheckSpec], dict[str, AssetKey]]:
    """(asset specs, check specs of the data tests, asset key of each model, seed and snapshot unique id,
    parents first)."""
    specs, checks = build_dbt_specs(
        translator=TRANSLATOR,
        manifest=manifest,
        select="fqn:*",
        exclude="",
        selector="",
        io_manager_key=None,
        project=None,
    )
    keys = {
        unique_id: TRANSLATOR.get_asset_key(manifest["nodes"][unique_id])
        for unique_id in _parents_first(manifest)
        if manifest["nodes"][unique_id]["resource_type"] in ("model", "snapshot", "seed")
        and manifest["nodes"][unique_id].get("config", {}).get("materialized") != "ephemeral"
    }
    return list(specs), list(checks), keys


def _parents_first(manifest: Mapping[str, Any]) -> list[str]:
    """Every node's unique id, each after the nodes it depends on."""
    nodes, ordered, seen = manifest["nodes"], [], set()

    def visit(unique_id: str) -> None:
        if unique_id in seen or unique_id not in nodes:
            return
        seen.add(unique_id)
        for parent in nodes[unique_id].get("depends_on", {}).get("nodes", []):
            visit(parent)
        ordered.append(unique_id)

    for unique_id in sorted(nodes):
        visit(unique_id)
    return ordered


def check_keys_of_tests(manifest: Mapping[str, Any]) -> dict[str, AssetCheckKey]:
    """The asset check key of each dbt data test's unique id (as dagster-dbt attaches tests to assets)."""
    found = {}
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] == "test":
            key = get_asset_check_key_for_test(manifest, TRANSLATOR, unique_id, None)
            if key is not None:
                found[unique_id] = key
    return found
