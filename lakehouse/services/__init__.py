"""The local services of the lakehouse: SeaweedFS (S3 + Iceberg REST catalog), the Spark Thrift Server, JupyterLab."""

from lakehouse.services.base import Service, ServiceError
from lakehouse.services.jupyter import JupyterLab
from lakehouse.services.seaweedfs import SeaweedFS
from lakehouse.services.thrift import ThriftServer

ALL_SERVICES: tuple[Service, ...] = (SeaweedFS(), ThriftServer(), JupyterLab())


def service_named(name: str) -> Service:
    for service in ALL_SERVICES:
        if service.name == name:
            return service
    known = ", ".join(s.name for s in ALL_SERVICES)
    raise ServiceError(f"service inconnu {name!r} (services : {known})")


__all__ = ["ALL_SERVICES", "JupyterLab", "SeaweedFS", "Service", "ServiceError", "ThriftServer", "service_named"]
