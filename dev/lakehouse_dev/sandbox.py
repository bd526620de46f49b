"""Throwaway stacks: settings with their own state folder, ports and random credentials.

Tests and benchmarks never touch the developer's stack (`.lakehouse/`, default ports):
each throwaway stack gets a settings file in a folder of its own, with every port
shifted to a base number (`port_base + 1` ... `+ 8`, gRPC ports `+ 10000`).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from lakehouse.core.files import write_private
from lakehouse.core.settings import Settings, load_settings


def write_sandbox_env(folder: Path, port_base: int, **extra: str) -> Path:
    """Write a settings file for a stack whose ports start at `port_base` (gRPC ports = +10000)."""
    folder.mkdir(parents=True, exist_ok=True)
    values = {
        "LAKEHOUSE_STATE_DIR": str(folder / "state"),
        "LAKEHOUSE_S3_ENDPOINT": f"http://127.0.0.1:{port_base + 1}",
        "LAKEHOUSE_CATALOG_URI": f"http://127.0.0.1:{port_base + 2}",
        "LAKEHOUSE_SEAWEEDFS_MASTER_PORT": str(port_base + 3),
        "LAKEHOUSE_SEAWEEDFS_VOLUME_PORT": str(port_base + 4),
        "LAKEHOUSE_SEAWEEDFS_FILER_PORT": str(port_base + 5),
        "LAKEHOUSE_SEAWEEDFS_ADMIN_PORT": str(port_base + 6),
        "LAKEHOUSE_THRIFT_PORT": str(port_base + 7),
        "LAKEHOUSE_S3_ACCESS_KEY": "LHTEST" + secrets.token_hex(6).upper(),
        "LAKEHOUSE_S3_SECRET_KEY": secrets.token_urlsafe(24),
        "LAKEHOUSE_BCEAO_API_KEY": "test-" + secrets.token_urlsafe(12),
        "LAKEHOUSE_BCEAO_API_PORT": str(port_base + 8),
        "LAKEHOUSE_STANDIN_USERS": "200",
        "LAKEHOUSE_STANDIN_EVENTS": "2000",
        "LAKEHOUSE_SPARK_UI_ENABLED": "false",
        "LAKEHOUSE_SPARK_DRIVER_MEMORY": "1g",
        "LAKEHOUSE_THRIFT_DRIVER_MEMORY": "1g",
        "LAKEHOUSE_START_TIMEOUT": "120",
        **extra,
    }
    return write_private(folder / "lakehouse.env", "".join(f"{key}={value}\n" for key, value in values.items()))


def sandbox_settings(folder: Path, port_base: int, **extra: str) -> Settings:
    return load_settings(environ={}, env_file=write_sandbox_env(folder, port_base, **extra))
