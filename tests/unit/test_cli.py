"""The command line: readable errors without stack traces, secrets never printed."""

from __future__ import annotations

import os
import subprocess
import sys

from lakehouse.settings import PROJECT_ROOT


def _cli(*args: str, env_file) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_ENV_FILE"] = str(env_file)
    return subprocess.run([sys.executable, "-m", "lakehouse", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_settings_command_masks_the_secret(tmp_path):
    env_file = tmp_path / "lakehouse.env"
    env_file.write_text("LAKEHOUSE_S3_ACCESS_KEY=AKVISIBLE\nLAKEHOUSE_S3_SECRET_KEY=very-secret-value\n")
    result = _cli("settings", env_file=env_file)
    assert result.returncode == 0, result.stderr
    assert "AKVISIBLE" in result.stdout
    assert "very-secret-value" not in result.stdout
    assert f"LAKEHOUSE_S3_SECRET_KEY=****    # {env_file}" in result.stdout


def test_a_bad_settings_file_gives_one_clear_error_and_no_traceback(tmp_path):
    env_file = tmp_path / "lakehouse.env"
    env_file.write_text("LAKEHOUSE_THRFT_PORT=1\n")
    result = _cli("status", env_file=env_file)
    assert result.returncode == 1
    assert result.stderr.startswith("ERREUR : ")
    assert "LAKEHOUSE_THRFT_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_beeline_without_a_server_says_to_start_it(tmp_path):
    env_file = tmp_path / "lakehouse.env"
    env_file.write_text("LAKEHOUSE_THRIFT_PORT=1\n")
    result = _cli("beeline", "--sql", "select 1", env_file=env_file)
    assert result.returncode == 1
    assert "make up" in result.stderr and "Traceback" not in result.stderr
