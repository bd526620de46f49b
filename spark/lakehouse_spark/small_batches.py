"""Many small landed files, registered as one: their rows gathered by pyarrow into one staging file.

Spark opens each file of a read on its own (listing, footer, column chunks: several S3 requests per
file), so registering 1,000 files of 50 rows is bound by those requests, not by the rows. When a batch
has many files and is small, `stage_small_batch` fetches the files whole, side by side, reads them in
memory with pyarrow, adds the object key of each row (`_k`, the lineage column `_source_object_key`)
and writes everything as one Parquet file under `<landing bucket>/_registering/`. Spark then reads that
one file. The staging file is deleted once the batch is committed (`drop_staging`); a crash leaves one
file there, outside every stream's prefix, which no registration ever reads.

Files whose schemas pyarrow cannot unify (more than the widenings bronze accepts) are left to Spark.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse_spark.landed_files import LandedObject

STAGING_PREFIX = "_registering"
MIN_FILES = 8  # fewer files: Spark reads them directly
MAX_BYTES = 64 * 1024 * 1024  # landed (compressed) bytes gathered in memory at most
FETCH_THREADS = 16
KEY_COLUMN = "_k"


def worth_staging(objects: list[LandedObject]) -> bool:
    return len(objects) >= MIN_FILES and sum(obj.size for obj in objects) <= MAX_BYTES


def staging_key(batch_id: str, stream: str) -> str:
    return f"{STAGING_PREFIX}/{batch_id}-{stream}.parquet"


def _read_whole(filesystem, bucket: str, obj: LandedObject) -> pa.Table:
    with filesystem.open_input_file(f"{bucket}/{obj.key}") as handle:
        data = handle.read()
    table = pq.read_table(pa.BufferReader(data))
    return table.append_column(KEY_COLUMN, pa.array([obj.key] * table.num_rows, pa.string()))


def stage_small_batch(filesystem, s3, bucket: str, objects: list[LandedObject], key: str) -> bool:
    """Write the rows of `objects` as one Parquet file at `bucket/key` (read with the pyarrow
    `filesystem`, written with the boto3 client `s3`, which leaves no directory marker); False when
    pyarrow cannot unify their schemas (the caller then lets Spark read the files)."""
    with ThreadPoolExecutor(max_workers=FETCH_THREADS) as pool:
        tables = list(pool.map(lambda obj: _read_whole(filesystem, bucket, obj), objects))
    try:
        combined = pa.concat_tables(tables, promote_options="permissive")
        buffer = pa.BufferOutputStream()
        # Microseconds, as Spark reads them; a file with finer timestamps is left to Spark's own reader.
        pq.write_table(combined, buffer, compression="snappy", coerce_timestamps="us", allow_truncated_timestamps=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return False
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue().to_pybytes())
    return True


def drop_staging(s3, bucket: str, key: str) -> None:
    try:
        s3.delete_object(Bucket=bucket, Key=key)
    except Exception:  # S3 unreachable: an unread leftover, outside the streams' prefixes
        pass
