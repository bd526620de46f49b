"""Ingestion job of the lakehouse: the Airbyte connector run as Airbyte would, and the landing of its
records in S3 as Parquet + Snappy; a job package: it imports only `lakehouse.core`."""
