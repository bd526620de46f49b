"""Settings: defaults from the example, file and environment overrides, clear errors."""

from __future__ import annotations

import stat

import pytest

from lakehouse.core.settings import EXAMPLE_FILE, SettingsError, load_settings, parse_env_file
from lakehouse.provision import ensure_local_settings


def test_every_example_key_has_the_prefix_and_a_comment_block():
    keys = parse_env_file(EXAMPLE_FILE)
    assert keys, "the example file declares the settings"
    assert all(key.startswith("LAKEHOUSE_") for key in keys)
    for required in (
        "LAKEHOUSE_S3_ENDPOINT",
        "LAKEHOUSE_S3_ACCESS_KEY",
        "LAKEHOUSE_S3_SECRET_KEY",
        "LAKEHOUSE_CATALOG_URI",
        "LAKEHOUSE_WAREHOUSE",
        "LAKEHOUSE_LANDING_BUCKET",
        "LAKEHOUSE_THRIFT_PORT",
    ):
        assert required in keys


def test_defaults_come_from_the_example(tmp_path):
    settings = load_settings(environ={}, env_file=tmp_path / "absent.env")
    assert settings.s3_endpoint == "http://127.0.0.1:8333"
    assert settings.s3_host_port == ("127.0.0.1", 8333)
    assert settings.catalog_host_port == ("127.0.0.1", 8181)
    assert settings.thrift_port == 10000
    assert settings.namespaces == ["bronze", "silver", "gold", "quality", "default"]
    assert settings.audit_enabled and settings.audited_namespaces == ["silver", "gold"]
    assert settings.origins["LAKEHOUSE_THRIFT_PORT"] == EXAMPLE_FILE.name


def test_file_overrides_example_and_environment_overrides_file(tmp_path):
    env_file = tmp_path / "lakehouse.env"
    env_file.write_text(
        "# comment\nLAKEHOUSE_THRIFT_PORT=10500\nLAKEHOUSE_WAREHOUSE='wh'\nLAKEHOUSE_S3_REGION=eu-west-1\n"
    )
    settings = load_settings(environ={"LAKEHOUSE_THRIFT_PORT": "10600", "OTHER": "x"}, env_file=env_file)
    assert settings.thrift_port == 10600
    assert settings.origins["LAKEHOUSE_THRIFT_PORT"] == "environnement"
    assert settings.warehouse == "wh"  # quotes removed
    assert settings.s3_region == "eu-west-1"
    assert settings.origins["LAKEHOUSE_S3_REGION"] == str(env_file)


def test_env_file_location_comes_from_lakehouse_env_file(tmp_path):
    env_file = tmp_path / "other.env"
    env_file.write_text("LAKEHOUSE_LANDING_BUCKET=atterrissage\n")
    settings = load_settings(environ={"LAKEHOUSE_ENV_FILE": str(env_file)})
    assert settings.landing_bucket == "atterrissage"


def test_unknown_key_in_file_is_an_error_naming_it(tmp_path):
    env_file = tmp_path / "lakehouse.env"
    env_file.write_text("LAKEHOUSE_THRIFT_PROT=10000\n")
    with pytest.raises(SettingsError, match="LAKEHOUSE_THRIFT_PROT"):
        load_settings(environ={}, env_file=env_file)


def test_unreadable_line_names_file_and_line(tmp_path):
    env_file = tmp_path / "lakehouse.env"
    env_file.write_text("LAKEHOUSE_THRIFT_PORT=1\nthis is not a setting\n")
    with pytest.raises(SettingsError, match=r"lakehouse.env:2"):
        load_settings(environ={}, env_file=env_file)


def test_empty_credentials_tell_to_run_setup(tmp_path):
    settings = load_settings(environ={}, env_file=tmp_path / "absent.env")
    with pytest.raises(SettingsError, match="make setup"):
        _ = settings.s3_secret_key


@pytest.mark.parametrize(
    ("key", "value", "attribute"),
    [
        ("LAKEHOUSE_THRIFT_PORT", "dix-mille", "thrift_port"),
        ("LAKEHOUSE_S3_ENDPOINT", "127.0.0.1:8333", "s3_host_port"),
        ("LAKEHOUSE_CATALOG_AUTH", "kerberos", "catalog_auth"),
        ("LAKEHOUSE_JAR_SOURCE", "ivy", "jar_source"),
        ("LAKEHOUSE_CATALOG_TOKEN_TTL_S", "2", "catalog_token_ttl"),
    ],
)
def test_invalid_values_are_refused_with_the_setting_name(tmp_path, key, value, attribute):
    settings = load_settings(environ={key: value}, env_file=tmp_path / "absent.env")
    with pytest.raises(SettingsError, match=key):
        getattr(settings, attribute)


def test_masked_hides_the_secret_only(tmp_path):
    settings = load_settings(
        environ={"LAKEHOUSE_S3_SECRET_KEY": "s3cr3t", "LAKEHOUSE_S3_ACCESS_KEY": "AK"}, env_file=tmp_path / "absent.env"
    )
    masked = settings.masked()
    assert masked["LAKEHOUSE_S3_SECRET_KEY"] == "****"
    assert masked["LAKEHOUSE_S3_ACCESS_KEY"] == "AK"
    assert "s3cr3t" not in repr(masked)


def test_local_settings_file_is_created_private_with_random_credentials_and_kept(tmp_path):
    path = tmp_path / "lakehouse.env"
    ensure_local_settings(path, progress=lambda _: None)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = load_settings(environ={}, env_file=path)
    assert len(first.s3_secret_key) >= 30 and first.s3_access_key.startswith("LH")
    ensure_local_settings(path, progress=lambda _: None)
    second = load_settings(environ={}, env_file=path)
    assert (second.s3_access_key, second.s3_secret_key) == (first.s3_access_key, first.s3_secret_key)
    other = tmp_path / "other.env"
    ensure_local_settings(other, progress=lambda _: None)
    assert load_settings(environ={}, env_file=other).s3_secret_key != first.s3_secret_key


def test_emptied_credentials_are_filled_again(tmp_path):
    path = tmp_path / "lakehouse.env"
    path.write_text("LAKEHOUSE_THRIFT_PORT=10100\nLAKEHOUSE_S3_ACCESS_KEY=\n")
    ensure_local_settings(path, progress=lambda _: None)
    settings = load_settings(environ={}, env_file=path)
    assert settings.thrift_port == 10100
    assert settings.s3_access_key and settings.s3_secret_key


@pytest.mark.parametrize(("value", "why"), [("0", "au moins 1"), ("trente", "doit être un entier")])
def test_a_count_below_its_minimum_or_not_a_number_is_refused_with_the_setting_name(tmp_path, value, why):
    settings = load_settings(environ={"LAKEHOUSE_DATA_DOCS_KEEP_RUNS": value}, env_file=tmp_path / "absent.env")
    with pytest.raises(SettingsError, match=f"LAKEHOUSE_DATA_DOCS_KEEP_RUNS.*{why}"):
        settings.get_count("DATA_DOCS_KEEP_RUNS", at_least=1)
