"""A landing bucket and a bronze namespace of a test's own on the shared test stack, so that tests
landing files never see each other's (silver and gold stay shared: the dbt targets write them)."""

from __future__ import annotations

import uuid

from lakehouse.core.settings import Settings
from lakehouse_ingestion.lake_store import LakeStore


def private_lake(settings: Settings, spark, prefix: str) -> Settings:
    suffix = uuid.uuid4().hex[:8]
    lake = settings.with_values(
        LAKEHOUSE_LANDING_BUCKET=f"{prefix}-{suffix}", LAKEHOUSE_BRONZE_NAMESPACE=f"bronze_{prefix}_{suffix}"
    )
    LakeStore(lake).s3.create_bucket(Bucket=lake.landing_bucket)
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {lake.catalog_name}.{lake.get('BRONZE_NAMESPACE')}")
    return lake
