"""The command line: readable errors without stack traces, secrets never printed."""

from __future__ import annotations

import pytest

from tests.cli_runner import run_cli


def test_settings_command_masks_the_secret(tmp_path):
    env_file = tmp_path / "lakehouse.env"
    env_file.write_text("LAKEHOUSE_S3_ACCESS_KEY=AKVISIBLE\nLAKEHOUSE_S3_SECRET_KEY=very-secret-value\n")
    result = run_cli("settings", env_file=env_file)
    assert result.returncode == 0, result.stderr
    assert "AKVISIBLE" in result.stdout
    assert "very-secret-value" not in result.stdout
    assert f"LAKEHOUSE_S3_SECRET_KEY=****    # {env_file}" in result.stdout


def test_a_bad_settings_file_gives_one_clear_error_and_no_traceback(tmp_path):
    env_file = tmp_path / "lakehouse.env"
    env_file.write_text("LAKEHOUSE_THRFT_PORT=1\n")
    result = run_cli("status", env_file=env_file)
    assert result.returncode == 1
    assert result.stderr.startswith("ERREUR : ")
    assert "LAKEHOUSE_THRFT_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_status_names_each_state_in_french(tmp_path):
    env_file = tmp_path / "lakehouse.env"
    env_file.write_text(f"LAKEHOUSE_STATE_DIR={tmp_path / 'state'}\n")
    result = run_cli("status", env_file=env_file)
    assert result.returncode == 3  # nothing runs
    rows = result.stdout.splitlines()
    assert rows[0].split()[:2] == ["service", "état"]
    assert rows[1].split()[:2] == ["seaweedfs", "arrêté"], result.stdout
    assert not any(word in result.stdout for word in ("stopped", "running", "stale"))


def test_beeline_without_a_server_says_to_start_it(tmp_path):
    env_file = tmp_path / "lakehouse.env"
    env_file.write_text("LAKEHOUSE_THRIFT_PORT=1\n")
    result = run_cli("beeline", "--sql", "select 1", env_file=env_file)
    assert result.returncode == 1
    assert "make up" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--snapshot", "abc"], "SNAPSHOT='abc' n'est pas un identifiant"),
        (["--timestamp", "hier"], "TIMESTAMP='hier' illisible"),
        ([], "donnez SNAPSHOT=<id> ou TIMESTAMP="),
        (["--snapshot", "1", "--timestamp", "2026-11-23 10:00:00"], "l'un des deux"),
    ],
)
def test_a_bad_rollback_request_is_refused_in_one_line_before_spark_starts(tmp_path, arguments, message):
    env_file = tmp_path / "lakehouse.env"
    env_file.write_text("")
    result = run_cli("rollback", "--table", "silver.dim_uemoa_indicators", *arguments, env_file=env_file, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("ERREUR : ") and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["ingest", "register", "reconcile"])
def test_an_unknown_stream_is_refused_before_anything_starts(tmp_path, command):
    env_file = tmp_path / "lakehouse.env"
    env_file.write_text("")  # no credentials: starting a service or Spark would fail on them first
    result = run_cli(command, "raw_user", env_file=env_file, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "ERREUR : flux inconnus : raw_user (flux déclarés dans streams.toml : "
        "indicateurs_economiques_uemoa, raw_users, raw_events)"
    )


def test_bad_arguments_are_refused_before_waiting_for_the_write_lock(tmp_path):
    """A writer holds the lake: a command whose arguments are wrong says so, not that the lake is busy."""
    from lakehouse.core.settings import load_settings
    from lakehouse.core.write_lock import write_lock

    env_file = tmp_path / "lakehouse.env"
    env_file.write_text(f"LAKEHOUSE_STATE_DIR={tmp_path / 'state'}\n")
    with write_lock(load_settings(environ={}, env_file=env_file), "make run", out=lambda _: None):
        busy = run_cli("ingest", env_file=env_file, timeout=60)
        unknown = run_cli("register", "raw_user", env_file=env_file, timeout=60)
        rollback = run_cli("rollback", "--table", "silver.t", "--snapshot", "abc", env_file=env_file, timeout=60)
    assert "déjà en cours d'écriture par `make run`" in busy.stderr, busy.stderr  # the lock is held
    assert unknown.stderr.startswith("ERREUR : flux inconnus : raw_user"), unknown.stderr
    assert "SNAPSHOT='abc' n'est pas un identifiant" in rollback.stderr, rollback.stderr


def test_reconcile_without_a_catalog_says_so_in_one_line(tmp_path):
    env_file = tmp_path / "lakehouse.env"
    env_file.write_text(
        "LAKEHOUSE_S3_ENDPOINT=http://127.0.0.1:1\nLAKEHOUSE_CATALOG_URI=http://127.0.0.1:2\n"
        "LAKEHOUSE_S3_ACCESS_KEY=AK\nLAKEHOUSE_S3_SECRET_KEY=SK\nLAKEHOUSE_SPARK_UI_ENABLED=false\n"
    )
    result = run_cli("reconcile", env_file=env_file, timeout=180)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    [last] = [line for line in result.stderr.splitlines() if line.startswith("ERREUR")]
    assert last.startswith("ERREUR : catalogue Iceberg ou S3 injoignable") and "127.0.0.1:2" in last, last


@pytest.mark.parametrize(
    ("arguments", "env", "refused"),
    [
        (("dbt", "run"), {}, True),
        (("dbt", "build", "--select", "dim_uemoa_indicators"), {}, True),
        (("dbt", "seed"), {"DBT_TARGET": "prod"}, True),
        (("dbt", "run", "--target", "dev"), {}, False),
        (("dbt", "run"), {"DBT_TARGET": "dev"}, False),
        (("dbt", "run"), {"FORCE": "1"}, False),
    ],
)
def test_dbt_writing_main_outside_the_audit_needs_force(tmp_path, arguments, env, refused):
    from lakehouse.cli import build_parser, refuse_unaudited_write
    from lakehouse.core.errors import LakehouseError

    args = build_parser().parse_args(list(arguments))
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DBT_TARGET", raising=False)
        patch.delenv("FORCE", raising=False)
        for key, value in env.items():
            patch.setenv(key, value)
        if refused:
            with pytest.raises(LakehouseError, match="hors audit .* `make dbt-build`.* FORCE=1"):
                refuse_unaudited_write(args)
        else:
            refuse_unaudited_write(args)


def test_make_dbt_run_refused_says_so_in_one_french_line(tmp_path):
    result = run_cli("dbt", "run", env_file=tmp_path / "absent.env", FORCE="", DBT_TARGET="prod")
    assert result.returncode == 1 and result.stderr.startswith("ERREUR : dbt run écrirait silver et gold")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("arguments", "french"),
    [
        (
            ("ask", "question", "--format", "jsn"),
            "ERREUR : --format : « jsn » n'est pas un choix possible (au choix : text, json)",
        ),
        (("changes",), "ERREUR : il manque : --table"),
        (
            ("changes", "--table", "silver.t", "--limit", "x"),
            "ERREUR : --limit : « x » n'est pas une valeur valide (nombre entier",
        ),
        (("nope",), "ERREUR : commande : « nope » n'est pas un choix possible"),
    ],
)
def test_argument_errors_are_french(tmp_path, arguments, french):
    result = run_cli(*arguments, env_file=tmp_path / "absent.env")
    assert result.returncode == 2 and result.stderr.startswith(french), result.stderr
    assert "invalid" not in result.stderr and "required" not in result.stderr and "usage:" not in result.stderr


def test_help_is_french(tmp_path):
    result = run_cli("ask", "--help", env_file=tmp_path / "absent.env")
    assert result.returncode == 0 and "usage : " in result.stdout and "affiche cette aide" in result.stdout
    assert "show this help" not in result.stdout and "positional arguments" not in result.stdout
