"""The local services: SeaweedFS (S3 + Iceberg REST catalog), Spark Thrift Server, PostgreSQL (serving copy)
and a chroma server when configured, JupyterLab, fast read server, the Dagster orchestrator (page and daemon)."""

from lakehouse.services.base import Service, ServiceError
from lakehouse.services.chroma import ChromaServer
from lakehouse.services.dagster import DagsterDaemon, DagsterWebserver
from lakehouse.services.jupyter import JupyterLab
from lakehouse.services.postgres import PostgresServer
from lakehouse.services.seaweedfs import SeaweedFS
from lakehouse.services.sql_server import SqlServer
from lakehouse.services.thrift import ThriftServer

ALL_SERVICES: tuple[Service, ...] = (
    SeaweedFS(),
    ThriftServer(),
    PostgresServer(),
    ChromaServer(),
    JupyterLab(),
    SqlServer(),
    DagsterWebserver(),
    DagsterDaemon(),
)


def service_named(name: str) -> Service:
    for service in ALL_SERVICES:
        if service.name == name:
            return service
    known = ", ".join(s.name for s in ALL_SERVICES)
    raise ServiceError(f"service inconnu {name!r} (services : {known})")


__all__ = [
    "ALL_SERVICES",
    "ChromaServer",
    "DagsterDaemon",
    "DagsterWebserver",
    "JupyterLab",
    "PostgresServer",
    "SeaweedFS",
    "Service",
    "SqlServer",
    "ServiceError",
    "ThriftServer",
    "service_named",
]
