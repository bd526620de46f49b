"""Clients of the lakehouse services, built from the settings in one place.

S3 (boto3), the Iceberg REST catalog (its OAuth2 token, its `/v1/config`, and pyiceberg),
and HiveServer2 (PyHive). Health probes, the pipeline summary, notebooks and tests all
get their clients here, so that endpoints and credentials are never assembled twice.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
import requests.adapters

from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.core.settings import Settings

HTTP_TIMEOUT = 10
CONNECT_TIMEOUT = 5  # seconds to open a connection to a local service: more means it is not answering


class ServiceUnavailable(LakehouseError):
    """A service did not answer, or refused us; the message says which and why."""


def s3_client(settings: Settings, access_key: str | None = None, secret_key: str | None = None) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id=access_key or settings.s3_access_key,
        aws_secret_access_key=secret_key or settings.s3_secret_key,
        region_name=settings.s3_region,
        config=Config(
            s3={"addressing_style": "path"},
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=settings.service_timeout,
            retries={"max_attempts": 3, "mode": "standard"},  # 500s of a store just restarted
        ),
    )


def list_buckets(settings: Settings) -> list[str]:
    """List the buckets; a clear `ServiceUnavailable` when S3 is down or refuses the credentials."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = s3_client(settings).list_buckets()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "?")
        raise ServiceUnavailable(
            f"S3 ({settings.s3_endpoint}) refuse les identifiants de LAKEHOUSE_S3_ACCESS_KEY ({code}). "
            "SeaweedFS ne lit ses identifiants qu'au démarrage : après un changement, `make down && make up`."
        ) from None
    except BotoCoreError as error:
        raise ServiceUnavailable(f"S3 injoignable sur {settings.s3_endpoint} : {error}") from None
    return [bucket["Name"] for bucket in response.get("Buckets", [])]


def read_one_object(settings: Settings, bucket: str) -> str:
    """Read the first byte of one stored object of `bucket`, if it holds any.

    After a restart SeaweedFS lists buckets before its volume server has reported its
    volumes to the master; until then every read of stored data fails with HTTP 500.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    client = s3_client(settings)
    try:
        listing = client.list_objects_v2(Bucket=bucket, MaxKeys=1)
        contents = listing.get("Contents", [])
        if not contents:
            return "aucun objet à relire"
        key = contents[0]["Key"]
        client.get_object(Bucket=bucket, Key=key, Range="bytes=0-0")["Body"].read()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "?")
        if code == "NoSuchBucket":
            return "bucket pas encore créé"
        raise ServiceUnavailable(f"S3 ({settings.s3_endpoint}) ne relit pas encore ses objets ({code})") from None
    except BotoCoreError as error:
        raise ServiceUnavailable(f"S3 injoignable sur {settings.s3_endpoint} : {error}") from None
    return "objets relisibles"


def catalog_token(settings: Settings, client_id: str | None = None, client_secret: str | None = None) -> str:
    """Get an OAuth2 client-credentials token from the REST catalog."""
    try:
        response = requests.post(
            settings.catalog_token_uri,
            data={
                "grant_type": "client_credentials",
                "client_id": client_id or settings.s3_access_key,
                "client_secret": client_secret or settings.s3_secret_key,
                "scope": "catalog",
            },
            timeout=HTTP_TIMEOUT,
        )
    except requests.RequestException as error:
        raise ServiceUnavailable(f"catalogue Iceberg REST injoignable sur {settings.catalog_uri} : {error}") from None
    if response.status_code in (400, 401, 403):
        raise ServiceUnavailable(
            "le catalogue Iceberg REST refuse les identifiants "
            f"(HTTP {response.status_code}: {response.text.strip()[:200]})"
        )
    response.raise_for_status()
    return response.json()["access_token"]


def catalog_config(settings: Settings) -> dict[str, Any]:
    """`GET /v1/config` for the warehouse, authenticated when the catalog uses OAuth2."""
    headers = {}
    if settings.catalog_auth == "oauth2":
        headers["Authorization"] = f"Bearer {catalog_token(settings)}"
    try:
        response = requests.get(
            f"{settings.catalog_uri}/v1/config",
            params={"warehouse": settings.warehouse},
            headers=headers,
            timeout=HTTP_TIMEOUT,
        )
    except requests.RequestException as error:
        raise ServiceUnavailable(f"catalogue Iceberg REST injoignable sur {settings.catalog_uri} : {error}") from None
    if response.status_code != 200:
        raise ServiceUnavailable(
            f"catalogue Iceberg REST : /v1/config répond HTTP {response.status_code} {response.text[:200]}"
        )
    return response.json()


def pyiceberg_properties(settings: Settings) -> dict[str, str]:
    properties = {
        "type": "rest",
        "uri": settings.catalog_uri,
        "warehouse": settings.warehouse,
        "s3.endpoint": settings.s3_endpoint,
        "s3.access-key-id": settings.s3_access_key,
        "s3.secret-access-key": settings.s3_secret_key,
        "s3.region": settings.s3_region,
        "s3.force-virtual-addressing": "false",
        "s3.connect-timeout": str(CONNECT_TIMEOUT),
        "s3.request-timeout": str(settings.service_timeout),
        # the catalog serves Iceberg views without listing their endpoints in /v1/config (spark/README.md)
        "view-endpoints-supported": "true",
    }
    if settings.catalog_auth == "oauth2":
        properties["credential"] = f"{settings.s3_access_key}:{settings.s3_secret_key}"
        properties["oauth2-server-uri"] = settings.catalog_token_uri
    return properties


def s3_filesystem(settings: Settings) -> Any:
    """A pyarrow S3 filesystem on the lakehouse's S3 endpoint (paths are `bucket/key`)."""
    from pyarrow import fs

    host, port = settings.s3_host_port
    return fs.S3FileSystem(
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        endpoint_override=f"{host}:{port}",
        region=settings.s3_region,
        scheme="https" if settings.s3_endpoint.startswith("https") else "http",
        connect_timeout=CONNECT_TIMEOUT,
        request_timeout=settings.service_timeout,
        retry_strategy=fs.AwsStandardS3RetryStrategy(max_attempts=2),
    )


class _TimeoutAdapter(requests.adapters.HTTPAdapter):
    """An HTTP adapter whose requests time out unless the caller says otherwise."""

    def __init__(self, timeout: tuple[float, float]):
        super().__init__()
        self.timeout = timeout

    def send(self, request, **kwargs):  # noqa: ANN001 - requests' own signature
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def iceberg_catalog(settings: Settings) -> Any:
    """The pyiceberg catalog on the same REST catalog Spark uses. Its HTTP session gets a timeout: pyiceberg
    sets none, so a catalog that stops answering would hold the caller forever."""
    from pyiceberg.catalog import load_catalog

    catalog = load_catalog(settings.catalog_name, **pyiceberg_properties(settings))
    session = getattr(catalog, "_session", None)  # pyiceberg's RestCatalog keeps its requests session here
    if session is not None:
        adapter = _TimeoutAdapter((CONNECT_TIMEOUT, settings.service_timeout))
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return catalog


def thrift_error_text(error: BaseException) -> str:
    """The server's own message of a PyHive error (it carries the whole Java stack as one line), or its
    first line."""
    import re

    match = re.search(r"errorMessage='([^']*)'", str(error))
    return match.group(1) if match else first_line(error)


def hive_connection(settings: Settings, database: str = "default") -> Any:
    """A PyHive connection to the Spark Thrift Server; its cursors read a statement's empty reply as no rows."""
    from pyhive import hive

    from lakehouse.core.thrift_replies import read_empty_replies

    read_empty_replies()

    # thrift logs every refused connection at ERROR level; the caller reports failures itself.
    logging.getLogger("thrift.transport.TSocket").setLevel(logging.CRITICAL)
    try:
        connection = hive.connect(
            settings.thrift_host, port=settings.thrift_port, username=settings.thrift_user, database=database
        )
    except Exception as error:  # thrift raises several transport-level types
        raise ServiceUnavailable(
            f"Spark Thrift Server injoignable sur {settings.thrift_host}:{settings.thrift_port} : "
            f"{thrift_error_text(error)}"
        ) from None
    # PyHive opens a blocking socket: a server that stops answering would hold the caller forever.
    socket = getattr(getattr(connection, "_transport", None), "_trans", None)
    if socket is not None and hasattr(socket, "setTimeout"):
        socket.setTimeout(settings.service_timeout * 1000)
    return connection


def hive_query(settings: Settings, sql: str, database: str = "default") -> list[tuple]:
    connection = hive_connection(settings, database)
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()
