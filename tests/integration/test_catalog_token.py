"""The local catalog's OAuth2 tokens expire: a Spark session and a pyiceberg catalog outlive several of
them without one refused request (spark/README.md, « Jeton du catalogue »)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time

import pytest

from lakehouse import stack
from lakehouse.core import jars
from lakehouse.core.clients import catalog_token, iceberg_catalog
from lakehouse.core.settings import PROJECT_ROOT, load_settings
from lakehouse_dev.sandbox import write_sandbox_env
from tests.stacks import SHARED_SPARK_RUNTIME

pytestmark = pytest.mark.integration

PORT_BASE = 21600
# Iceberg renews a token when 90 % of its life is gone; SeaweedFS rounds its expiry down to the second:
# with a life under 10 s, even a renewal by client credentials would come after the expiry.
TOKEN_TTL_S = 15
QUERYING_S = 1.6 * TOKEN_TTL_S  # the first token's expiry and most of the renewed one's life

# A Spark session on the given stack that lists a namespace's tables without a pause, then says how it went.
SPARK_QUERIES = """
import json, sys, time
from pathlib import Path
from lakehouse.core.settings import load_settings
from lakehouse_spark.session import get_spark

settings = load_settings(environ={}, env_file=Path(sys.argv[1]))
spark = get_spark("catalog-token-renewal", settings=settings)
spark.sql(f"SHOW NAMESPACES IN {settings.catalog_name}").collect()
started, queries, refused = time.monotonic(), 0, []
while time.monotonic() - started < float(sys.argv[2]):
    try:
        spark.sql(f"SHOW TABLES IN {settings.catalog_name}.bronze").collect()
    except Exception as error:
        cause = next((line for line in str(error).splitlines() if "Exception" in line), str(error))
        refused.append(f"{time.monotonic() - started:.1f} s : {cause.strip()[:200]}")
    queries += 1
print(json.dumps({"queries": queries, "seconds": time.monotonic() - started, "refused": refused}))
"""


def _lifetime(token: str) -> int:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims["exp"] - claims["iat"]


@pytest.fixture
def short_token_stack(tmp_path):
    env_file = write_sandbox_env(
        tmp_path,
        PORT_BASE,
        **SHARED_SPARK_RUNTIME,
        LAKEHOUSE_CATALOG_TOKEN_TTL_S=str(TOKEN_TTL_S),
        LAKEHOUSE_CLASS_ARCHIVE="false",
    )
    settings = load_settings(environ={}, env_file=env_file)
    jars.resolve_jars(settings, progress=lambda _: None)
    stack.up(settings, ["seaweedfs"], progress=lambda _: None)
    yield settings, env_file
    stack.down(settings, ["seaweedfs"], progress=lambda _: None)


def test_catalog_token_renewal(short_token_stack):
    settings, env_file = short_token_stack
    assert _lifetime(catalog_token(settings)) == TOKEN_TTL_S
    spark = subprocess.Popen(
        [sys.executable, "-c", SPARK_QUERIES, str(env_file), str(QUERYING_S)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        catalog = iceberg_catalog(settings)
        assert ("bronze",) in catalog.list_namespaces()
        time.sleep(TOKEN_TTL_S + 2)
        assert ("bronze",) in catalog.list_namespaces()  # its token expired: pyiceberg asked for a new one
        out, err = spark.communicate(timeout=300)
    finally:
        spark.kill()  # nothing left querying a stopped stack when an assertion above failed
        spark.wait()
    assert spark.returncode == 0, err[-3000:]
    report = json.loads(out.strip().splitlines()[-1])
    assert report["seconds"] >= QUERYING_S and report["queries"] > 50, report
    assert report["refused"] == [], report
