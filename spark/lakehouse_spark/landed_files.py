"""The landed objects of the landing zone, and what each one holds (read from its Parquet footer).

Listing uses the S3 API (one request per 1,000 objects) and inspection reads only the
Parquet footer, so deciding what to register costs little even for thousands of files.
An unreadable object is described by a `Rejection` (reason code + message) instead of an
exception, so that one bad file never stops the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from lakehouse.core.clients import s3_client
from lakehouse.core.errors import first_line
from lakehouse.core.settings import Settings


@dataclass(frozen=True)
class LandedObject:
    key: str
    etag: str
    size: int

    @property
    def identity(self) -> tuple[str, str]:
        return self.key, self.etag


@dataclass(frozen=True)
class Rejection:
    reason: str  # short code: fichier_vide, parquet_illisible, schema_incompatible
    message: str


@dataclass(frozen=True)
class FileInfo:
    rows: int
    schema: pa.Schema


def landing_prefix(settings: Settings, stream: str) -> str:
    return f"{settings.get('LANDING_PREFIX').strip('/')}/{stream}/"


def list_landed(settings: Settings, stream: str) -> list[LandedObject]:
    """Every `.parquet` object under `<prefix>/<stream>/`, sorted by key."""
    paginator = s3_client(settings).get_paginator("list_objects_v2")
    objects = []
    for page in paginator.paginate(Bucket=settings.landing_bucket, Prefix=landing_prefix(settings, stream)):
        for item in page.get("Contents", []):
            if item["Key"].endswith(".parquet"):
                objects.append(LandedObject(item["Key"], item["ETag"].strip('"'), int(item["Size"])))
    return sorted(objects, key=lambda o: o.key)


def inspect(filesystem: fs.S3FileSystem, bucket: str, obj: LandedObject) -> FileInfo | Rejection:
    """Rows and schema of a landed object, or why it cannot be registered."""
    if obj.size == 0:
        return Rejection("fichier_vide", "objet de 0 octet : rien à lire (dépôt interrompu ?)")
    try:
        with filesystem.open_input_file(f"{bucket}/{obj.key}") as handle:
            parquet = pq.ParquetFile(handle)
            return FileInfo(parquet.metadata.num_rows, parquet.schema_arrow)
    except (pa.ArrowException, OSError) as error:
        return Rejection("parquet_illisible", f"Parquet illisible : {first_line(error, limit=300)}")
