"""The dbt project as its users expect it, checked from `dbt parse` (no connection needed):

- the `prod` target (make run, make dbt-*) writes exactly the tables users query today;
- the `dev` target never writes silver or gold;
- staging/<system>/, intermediate/ and marts/ hold what their names say, with the dbt naming rules;
- one YAML per model beside it, every model and documented column described.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lakehouse.core.settings import PROJECT_ROOT, load_settings
from lakehouse.dbt_runner import DBT_DIR, dbt_command

# The relations people query: their names do not change when models move or are renamed (alias).
PUBLISHED_RELATIONS = {
    "silver.dim_uemoa_indicators",
    "silver.rejets_uemoa_indicators",
    "silver.stg_users",
    "silver.stg_events",
    "silver.stg_indicators",
    "silver.pays_uemoa",
    "gold.gold_kpi_uemoa_growth_yoy",
    "gold.gold_mart_uemoa_external_stability",
    "gold.gold_mart_uemoa_external_trade",
    "gold.gold_mart_uemoa_monetary_dashboard",
    "gold.gold_mart_uemoa_public_finance",
    "gold.gold_mart_uemoa_union_aggregates",
    "gold.gold_mart_uemoa_convergence",
    "gold.fct_events_enriched",
    "silver.uemoa_indicators_history",
}


def parse(target: str, tmp_path: Path) -> dict:
    settings = load_settings(environ={}, env_file=tmp_path / "absent.env")
    out = tmp_path / target
    command, env, cwd = dbt_command(
        settings, ["parse", "--no-use-colors", "--target", target, "--target-path", str(out), "--log-path", str(out)]
    )
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="module")
def manifests(tmp_path_factory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("dbt-parse")
    targets = ("prod", "audit", "dev")
    with ThreadPoolExecutor(len(targets)) as pool:  # three dbt processes side by side
        return dict(zip(targets, pool.map(lambda target: parse(target, folder), targets), strict=True))


def relations(manifest: dict) -> dict[str, str]:
    """model/seed/snapshot name -> schema.alias of what it writes (ephemeral models write nothing)."""
    return {
        node["name"]: f"{node['schema']}.{node['alias']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed", "snapshot") and node["config"]["materialized"] != "ephemeral"
    }


def models(manifest: dict) -> list[dict]:
    return [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]


def test_prod_writes_exactly_the_published_tables(manifests):
    assert set(relations(manifests["prod"]).values()) == PUBLISHED_RELATIONS


def test_audit_writes_the_published_tables_on_a_branch_not_other_tables(manifests):
    # Same relations as prod: the branch is chosen by the session (spark.wap.branch), not by the name.
    assert relations(manifests["audit"]) == relations(manifests["prod"])


def test_dev_never_writes_silver_or_gold(manifests):
    written = relations(manifests["dev"]).values()
    assert written and all(relation.startswith(("dev_silver.", "dev_gold.")) for relation in written), sorted(written)
    assert {relation.removeprefix("dev_") for relation in written} == PUBLISHED_RELATIONS


def test_both_targets_read_the_same_bronze_sources(manifests):
    schemas = {
        target: {source["schema"] for source in manifest["sources"].values()} for target, manifest in manifests.items()
    }
    assert schemas["prod"] == schemas["dev"] == {"bronze"}


def test_folders_hold_what_their_names_say(manifests):
    for node in models(manifests["prod"]):
        folder, name, materialized = (
            Path(node["original_file_path"]).parent,
            node["name"],
            node["config"]["materialized"],
        )
        parts = folder.relative_to("models").parts
        if parts[0] == "staging":
            assert len(parts) == 2 and name.startswith(f"stg_{parts[1]}__"), node["original_file_path"]
            assert all(ref["name"].startswith("stg_") for ref in node["refs"]) and node["sources"], name
        elif parts[0] == "intermediate":
            assert name.startswith("int_") and materialized == "ephemeral" and not node["sources"], name
        else:
            assert parts[0] == "marts" and parts[1] in ("silver", "gold"), node["original_file_path"]
            assert name.startswith(("dim_", "fct_", "rejected_", "gold_")) and not node["sources"], name
            assert node["schema"] == parts[1], name


def test_schema_and_partitioning_are_set_by_folder_not_repeated_in_models():
    for path in (DBT_DIR / "models").rglob("*.sql"):
        text = path.read_text(encoding="utf-8")
        assert "schema=" not in text, f"{path}: schema set in the model (dbt_project.yml sets it per folder)"
        if "marts/gold" in str(path):
            assert "partition_by=['annee']" not in text, f"{path}: the gold folder already partitions by annee"


def test_one_yaml_per_model_beside_it_and_everything_described(manifests):
    manifest = manifests["prod"]
    for node in models(manifest):
        sql = Path(node["original_file_path"])
        assert node["patch_path"] == f"uemoa_lakehouse://{sql.with_suffix('.yml')}", node["name"]
        assert node["description"].strip(), f"{node['name']} : modèle sans description"
        for column in node["columns"].values():
            assert column["description"].strip(), f"{node['name']}.{column['name']} : colonne sans description"
    for node in manifest["nodes"].values():
        if node["resource_type"] == "snapshot":  # snapshots/<name>.yml, every column described
            assert node["original_file_path"] == f"snapshots/{node['name']}.yml", node["name"]
            assert node["description"].strip() and all(c["description"].strip() for c in node["columns"].values())
    for test in manifest["unit_tests"].values():
        tested = next(node for node in models(manifest) if node["name"] == test["model"])
        assert Path(test["original_file_path"]) == Path(tested["original_file_path"]).with_suffix(".yml"), test["name"]


def test_code_identifiers_are_english_snake_case(manifests):
    manifest = manifests["prod"]
    names = [
        node["name"] for node in manifest["nodes"].values() if node["resource_type"] in ("model", "seed", "snapshot")
    ]
    names += [test["name"] for test in manifest["unit_tests"].values()]
    names += [macro["name"] for macro in manifest["macros"].values() if macro["package_name"] == "uemoa_lakehouse"]
    french = ("annuel", "indexes", "valides", "rejets", "entre", "trimestre", "mesures", "evenement", "utilisateur")
    assert not [name for name in names if any(word in name for word in french)]
    assert all(name == name.lower() for name in names)


def test_the_models_folder_has_no_leftover_yaml_of_several_models():
    for path in (PROJECT_ROOT / "dbt" / "models").rglob("*.yml"):
        if path.name.startswith("_"):
            assert path.name.endswith("__sources.yml"), f"{path}: one YAML per model, named after it"


def test_incremental_models_add_the_columns_they_start_selecting(manifests):
    incremental = [node for node in models(manifests["prod"]) if node["config"]["materialized"] == "incremental"]
    assert len(incremental) == 3
    assert all(node["config"]["on_schema_change"] == "append_new_columns" for node in incremental)
