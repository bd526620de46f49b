"""docker-compose.yml cannot run here (no Docker engine): validate it with `docker-compose config`
and check it agrees with the settings of conf/lakehouse.env.example."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import yaml

from lakehouse.core.settings import EXAMPLE_FILE, PROJECT_ROOT, load_settings, parse_env_file

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
# the quickstart, plus chroma and the serving database
QUICKSTART_SERVICES = {"minio", "mc", "rest", "spark-iceberg", "chromadb", "timescaledb"}
compose = shutil.which("docker-compose")
needs_compose = pytest.mark.skipif(compose is None, reason="docker-compose absent (make test-tools l'installe)")


def _config(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    return subprocess.run(
        [compose, "--env-file", str(EXAMPLE_FILE), "-f", str(COMPOSE_FILE), "config"],
        cwd=PROJECT_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@needs_compose
def test_docker_compose_config_passes_with_credentials():
    result = _config(
        {
            "LAKEHOUSE_S3_ACCESS_KEY": "AKCOMPOSE",
            "LAKEHOUSE_S3_SECRET_KEY": "compose-secret",
            "LAKEHOUSE_POSTGRES_PASSWORD": "pg-secret",
        }
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == QUICKSTART_SERVICES
    assert resolved["services"]["minio"]["environment"]["MINIO_ROOT_PASSWORD"] == "compose-secret"
    assert resolved["services"]["timescaledb"]["environment"]["POSTGRES_PASSWORD"] == "pg-secret"
    assert "5433" in str(resolved["services"]["timescaledb"]["ports"][0])


@needs_compose
def test_docker_compose_refuses_to_start_without_credentials():
    result = _config({})
    assert result.returncode != 0
    assert "LAKEHOUSE_S3_ACCESS_KEY" in result.stderr and "make setup" in result.stderr


def test_compose_uses_only_known_settings_and_no_secret_literal():
    text = COMPOSE_FILE.read_text()
    used = set(re.findall(r"\$\{(LAKEHOUSE_[A-Z0-9_]+)", text))
    assert used, "the compose file takes its settings from conf/lakehouse.env"
    assert used <= set(parse_env_file(EXAMPLE_FILE)), used - set(parse_env_file(EXAMPLE_FILE))
    spec = yaml.safe_load(text)
    for name, service in spec["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key or "SECRET" in key or "ACCESS_KEY" in key:
                assert str(value).startswith("${LAKEHOUSE_"), f"{name}.{key} is a literal, not a setting"


def test_compose_services_ports_and_volumes_follow_the_quickstart_and_settings():
    spec = yaml.safe_load(COMPOSE_FILE.read_text())
    services = spec["services"]
    assert set(services) == QUICKSTART_SERVICES
    defaults = load_settings(environ={}, env_file=PROJECT_ROOT / "absent.env")
    published = {}
    for name, service in services.items():
        for mapping in service.get("ports", []):
            resolved = re.sub(r"\$\{LAKEHOUSE_(?:THRIFT|POSTGRES)_PORT:-(\d+)\}", r"\1", mapping)
            host_ip, host_port, container_port = resolved.split(":")
            assert host_ip == "127.0.0.1", f"{name} publishes {mapping} beyond loopback"
            published[int(host_port)] = name
    assert published == {
        9000: "minio",
        9001: "minio",
        defaults.catalog_host_port[1]: "rest",
        8888: "spark-iceberg",
        defaults.thrift_port: "spark-iceberg",
        4040: "spark-iceberg",
        8010: "chromadb",
        defaults.get_int("POSTGRES_PORT"): "timescaledb",
    }
    assert f"${{LAKEHOUSE_THRIFT_PORT:-{defaults.thrift_port}}}" in COMPOSE_FILE.read_text()
    for name in ("minio", "rest", "spark-iceberg"):
        assert "healthcheck" in services[name], name
    assert services["rest"]["depends_on"]["mc"]["condition"] == "service_completed_successfully"
    assert services["spark-iceberg"]["depends_on"]["rest"]["condition"] == "service_healthy"
    assert set(spec["volumes"]) == {"minio-data", "rest-catalog", "chroma-data", "timescale-data"}
    assert "jdbc:sqlite:/home/iceberg/" in services["rest"]["environment"]["CATALOG_URI"]  # persisted catalog db
    init = services["mc"]["entrypoint"]
    assert "--ignore-existing" in init and " rm " not in init  # never deletes data


def test_docker_spark_conf_uses_the_same_catalog_and_buckets():
    defaults = load_settings(environ={}, env_file=PROJECT_ROOT / "absent.env")
    text = (PROJECT_ROOT / "conf" / "docker" / "spark-defaults.conf").read_text()
    assert f"spark.sql.defaultCatalog                               {defaults.catalog_name}" in text
    assert f"s3://{defaults.warehouse}/" in text
    assert "secret" not in text.lower().replace("aws_secret_access_key", "")
