"""Render `conf/templates/spark-defaults.conf.tmpl` from the settings.

The rendered file is the single Spark configuration of the project: the Thrift server
reads it with `--properties-file`, and the Spark session factory loads the same
properties, so a job, a notebook and a dbt model over Thrift see the same catalog.
"""

from __future__ import annotations

import os
from pathlib import Path
from string import Template

from lakehouse.settings import CONF_DIR, Settings

TEMPLATE = CONF_DIR / "templates" / "spark-defaults.conf.tmpl"
RENDERED_NAME = "spark-defaults.conf"


def is_local_master(settings: Settings) -> bool:
    return settings.get("SPARK_MASTER").startswith("local")


def render(settings: Settings, jars: list[Path]) -> str:
    catalog = settings.catalog_name
    auth_lines = ""
    if settings.catalog_auth == "oauth2":
        auth_lines = "\n".join(
            [
                f"spark.sql.catalog.{catalog}.rest.auth.type oauth2",
                f"spark.sql.catalog.{catalog}.credential {settings.s3_access_key}:{settings.s3_secret_key}",
                f"spark.sql.catalog.{catalog}.oauth2-server-uri {settings.catalog_token_uri}",
            ]
        )
    classpath = ":".join(str(jar) for jar in jars)
    values = {
        **settings.values,
        "LAKEHOUSE_S3_ACCESS_KEY": settings.s3_access_key,
        "LAKEHOUSE_S3_SECRET_KEY": settings.s3_secret_key,
        "JARS_CLASSPATH": classpath,
        "CLUSTER_JARS_PROPERTY": "" if is_local_master(settings) else f"spark.jars {','.join(str(j) for j in jars)}",
        "CATALOG_AUTH_PROPERTIES": auth_lines,
        "SPARK_WAREHOUSE_DIR": str(settings.state_dir / "spark-warehouse"),
        "S3_SSL_ENABLED": str(settings.s3_endpoint.startswith("https")).lower(),
    }
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(values)


def parse_properties(text: str) -> dict[str, str]:
    """Parse a spark-defaults file: `key value` per line, `#` comments."""
    properties = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        properties[key] = value.strip()
    return properties


def write_rendered(settings: Settings, jars: list[Path]) -> Path:
    """Write the rendered file under `<state>/conf/` with mode 0600 (it holds the S3 secret)."""
    target = settings.rendered_conf_dir / RENDERED_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(render(settings, jars))
    os.replace(tmp, target)
    return target


def spark_properties(settings: Settings, jars: list[Path]) -> dict[str, str]:
    return parse_properties(render(settings, jars))
