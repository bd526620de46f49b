"""The maintenance policy file: precedence, validation, and the 24-hour floor of the orphan window."""

from __future__ import annotations

import pytest

from lakehouse.core.maintenance_policy import PolicyError, load_policy
from lakehouse.core.settings import PROJECT_ROOT, load_settings
from tests.cli_runner import run_cli

PROJECT_POLICY = PROJECT_ROOT / "conf" / "maintenance.toml"


def write(tmp_path, text: str):
    path = tmp_path / "maintenance.toml"
    defaults = PROJECT_POLICY.read_text().split("[namespaces.bronze]")[0]
    path.write_text(defaults + text)
    return path


def test_the_project_policy_loads_and_resolves_table_over_namespace_over_defaults():
    policy = load_policy(PROJECT_POLICY)
    assert load_settings(environ={}).maintenance_policy_file == PROJECT_POLICY
    events, users, gold = (
        policy.for_table(t) for t in ("bronze.raw_events", "bronze.raw_users", "gold.gold_mart_uemoa_convergence")
    )
    assert events.target_file_size_mb == 256 and users.target_file_size_mb == 128
    assert events.snapshot_max_age_hours == users.snapshot_max_age_hours == 336
    assert gold.snapshot_max_age_hours == 72 and gold.retain_last == 5
    assert policy.for_table("silver.stg_users").orphan_min_age_hours >= 24


@pytest.mark.parametrize("section", ["[defaults]", "[namespaces.silver]", '[tables."gold.x"]'])
def test_an_orphan_window_under_24_hours_is_refused(tmp_path, section):
    text = PROJECT_POLICY.read_text()
    if section == "[defaults]":
        text = text.replace("orphan_min_age_hours = 72", "orphan_min_age_hours = 1")
    else:
        text += f"\n{section}\norphan_min_age_hours = 1\n"
    path = tmp_path / "maintenance.toml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=r"orphan_min_age_hours = 1 refusé.*24 h") as error:
        load_policy(path)
    assert section.strip("[]") in str(error.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[namespaces.bronze]\nretain_last = 0\n", "retain_last = 0 doit être au moins 1"),
        ("[namespaces.bronze]\nretain_last = '3'\n", "doit être de type int"),
        ("[namespaces.bronze]\nrewrite_manifests = 1\n", "doit être de type bool"),
        ("[namespaces.bronze]\nstrategy = 'zorder'\n", "valeurs possibles : binpack, sort"),
        ("[namespaces.bronze]\ntarget_size = 1\n", "clé inconnue target_size"),
        ('[tables."raw_events"]\nretain_last = 2\n', "namespace.table"),
        ("[tables\n", "TOML invalide"),
    ],
)
def test_policy_mistakes_are_named(tmp_path, text, message):
    with pytest.raises(PolicyError, match=message):
        load_policy(write(tmp_path, text))


def test_the_cli_refuses_a_bad_policy_in_one_line_before_starting_anything(tmp_path):
    bad = tmp_path / "maintenance.toml"
    bad.write_text(PROJECT_POLICY.read_text().replace("orphan_min_age_hours = 72", "orphan_min_age_hours = 1"))
    env_file = tmp_path / "lakehouse.env"
    env_file.write_text(f"LAKEHOUSE_MAINTENANCE_POLICY={bad}\n")
    result = run_cli("remove-orphans", "--apply", env_file=env_file, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("ERREUR : ") and "24 h" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
