"""Throwaway stacks: settings with their own state folder, ports and random credentials.

Tests and benchmarks never touch the developer's stack (`.lakehouse/`, default ports):
each throwaway stack gets a settings file in a folder of its own, with every port
shifted to a base number (`port_base + 1` ... `+ 22`; SeaweedFS's gRPC ports `+ 10000`).

Every port, gRPC included, must stay below the kernel's ephemeral range (32768 by
default): a port in that range can be taken at any moment by an outgoing connection of
another process, and the stack would then fail to start at random. The bases in use: tests 21000
(session stack), 21500 (fault suite), 21600 (`test_catalog_token`) and 22000-22300 (`test_stack`),
benchmarks 22350 and 22400-22750.

`make test` runs the tests in parallel processes (pytest-xdist workers `gw0`, `gw1`, ...): each worker's
stacks are shifted `WORKER_PORT_SHIFT` ports down per worker number, so that two workers never share a
port. Worker 0 uses 20001-22772 (gRPC 30001-32756), worker 1 17001-19772 (gRPC 27001-29756), worker 2
14001-16772 (gRPC 24001-26756); a fourth would reach worker 0's ports and is refused.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from lakehouse.core.files import write_private
from lakehouse.core.settings import SEAWEEDFS_GRPC_OFFSET, Settings, load_settings

PORTS_PER_STACK = 22
SEAWEEDFS_PORTS = 6  # `port_base + 1` ... `+ 6`, each with a gRPC port 10000 above
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
WORKER_PORT_SHIFT = 3000  # per pytest-xdist worker; 3 workers at most keep every range apart
MAX_WORKERS = 3


def worker_number() -> int:
    """The pytest-xdist worker running this process (`PYTEST_XDIST_WORKER=gw1` → 1), 0 outside xdist."""
    match = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
    number = int(match.group(1)) if match else 0
    if number >= MAX_WORKERS:
        raise ValueError(f"{number + 1} processus de tests : au plus {MAX_WORKERS} (pytest -n {MAX_WORKERS})")
    return number


def worker_port_base(port_base: int) -> int:
    """`port_base` shifted for this pytest-xdist worker (unchanged outside xdist and on worker 0)."""
    return port_base - WORKER_PORT_SHIFT * worker_number()


def ephemeral_range_start() -> int:
    """First port the kernel may hand out to outgoing connections (32768 when unknown)."""
    try:
        return int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def check_port_base(port_base: int) -> None:
    """Refuse a base whose highest port (gRPC) would fall in the ephemeral range."""
    highest = max(port_base + PORTS_PER_STACK, port_base + SEAWEEDFS_PORTS + SEAWEEDFS_GRPC_OFFSET)
    if port_base < 1024 or highest >= ephemeral_range_start():
        raise ValueError(
            f"base de ports {port_base} refusée : le port {highest} tomberait dans la plage éphémère "
            f"du noyau (à partir de {ephemeral_range_start()}) ; choisissez une base entre 1024 et "
            f"{ephemeral_range_start() - SEAWEEDFS_PORTS - SEAWEEDFS_GRPC_OFFSET - 1}"
        )


def write_sandbox_env(folder: Path, port_base: int, **extra: str) -> Path:
    """Write a settings file for a stack whose ports start at `port_base` (gRPC ports = +10000), shifted for
    the pytest-xdist worker that runs it."""
    check_port_base(port_base)
    port_base = worker_port_base(port_base)
    check_port_base(port_base)
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
        "LAKEHOUSE_JUPYTER_PORT": str(port_base + 9),
        "LAKEHOUSE_JUPYTER_TOKEN": secrets.token_hex(16),
        "LAKEHOUSE_SQL_PORT": str(port_base + 10),
        "LAKEHOUSE_SQL_TOKEN": secrets.token_hex(16),
        # A Spark standalone cluster, if a test starts one (`make cluster-up`), and the Spark web UIs when on.
        "LAKEHOUSE_SPARK_CLUSTER_PORT": str(port_base + 11),
        "LAKEHOUSE_SPARK_CLUSTER_UI_PORT": str(port_base + 12),
        "LAKEHOUSE_SPARK_WORKER_PORT": str(port_base + 13),  # up to 3 workers: + 13, + 14, + 15
        "LAKEHOUSE_SPARK_WORKER_UI_PORT": str(port_base + 16),  # + 16, + 17, + 18
        "LAKEHOUSE_THRIFT_UI_PORT": str(port_base + 19),
        "LAKEHOUSE_SPARK_UI_PORT": str(port_base + 20),
        # PostgreSQL of the serving copy: off unless a test starts it (`make serve`)
        "LAKEHOUSE_POSTGRES_LOCAL": "false",
        "LAKEHOUSE_POSTGRES_PORT": str(port_base + 21),
        "LAKEHOUSE_DAGSTER_PORT": str(port_base + 22),
        "LAKEHOUSE_POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        "LAKEHOUSE_SERVE": "false",
        "LAKEHOUSE_SPARK_EXECUTOR_MEMORY": "1g",
        "LAKEHOUSE_SPARK_WORKER_MEMORY": "2g",
        "LAKEHOUSE_STANDIN_USERS": "200",
        "LAKEHOUSE_STANDIN_EVENTS": "2000",
        "LAKEHOUSE_SPARK_UI_ENABLED": "false",
        "LAKEHOUSE_SPARK_DRIVER_MEMORY": "1g",
        "LAKEHOUSE_THRIFT_DRIVER_MEMORY": "1g",
        "LAKEHOUSE_START_TIMEOUT": "120",
        # The fast embedding model (about 10 times faster to index than the default, the same code path): the
        # default model is tested on its own corpus, and measured by `make bench BENCH=rag_search`.
        "LAKEHOUSE_RAG_EMBEDDING_MODEL": "use-multilingual",
        **extra,
    }
    return write_private(folder / "lakehouse.env", "".join(f"{key}={value}\n" for key, value in values.items()))


def local_chroma_server(settings: Settings) -> dict[str, str]:
    """Settings that turn on a local chroma server for a throwaway stack, on its base port (`port_base`
    itself: the stack's ports are `+ 1` to `+ 22`; the fast read server is on `+ 10`)."""
    port_base = settings.get_int("SQL_PORT") - 10
    return {"LAKEHOUSE_CHROMA_URL": f"http://127.0.0.1:{port_base}", "LAKEHOUSE_CHROMA_LOCAL_SERVER": "true"}


def sandbox_settings(folder: Path, port_base: int, **extra: str) -> Settings:
    return load_settings(environ={}, env_file=write_sandbox_env(folder, port_base, **extra))
