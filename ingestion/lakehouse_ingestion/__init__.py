"""Ingestion of the BCEAO indicators: dataset stand-in, local API stand-in, Airbyte connector run, landing to S3."""
