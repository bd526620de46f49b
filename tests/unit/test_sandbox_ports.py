"""Throwaway stacks keep every port, gRPC included, out of the kernel's ephemeral range."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lakehouse.core.settings import SEAWEEDFS_GRPC_OFFSET
from lakehouse_dev import sandbox

ROOT = Path(__file__).resolve().parents[2]


def test_a_base_whose_grpc_ports_reach_the_ephemeral_range_is_refused(tmp_path):
    start = sandbox.ephemeral_range_start()
    with pytest.raises(ValueError, match="plage éphémère"):
        sandbox.write_sandbox_env(tmp_path, start - 10000 - 4)
    assert not (tmp_path / "lakehouse.env").exists()


def _bases_in_use() -> list[int]:
    pattern = re.compile(r"(?:PORT_BASE\s*=\s*|sandbox_(?:settings|env)\([^,]+,\s*)(\d{4,5})")
    bases = []
    for path in [*ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/*.py")]:
        bases += [int(found) for found in pattern.findall(path.read_text(encoding="utf-8"))]
    return bases


def test_every_base_used_by_tests_and_benchmarks_is_accepted_and_distinct():
    bases = _bases_in_use()
    assert len(bases) >= 8, bases
    for base in set(bases):
        sandbox.check_port_base(base)
    distinct = sorted(set(bases))
    assert all(b - a >= sandbox.PORTS_PER_STACK + 1 for a, b in zip(distinct, distinct[1:], strict=False)), distinct


def _ports(base: int) -> set[int]:
    ports = set(range(base + 1, base + sandbox.PORTS_PER_STACK + 1))
    return ports | {port + SEAWEEDFS_GRPC_OFFSET for port in range(base + 1, base + sandbox.SEAWEEDFS_PORTS + 1)}


def test_each_pytest_worker_puts_every_stack_on_ports_no_other_worker_uses(monkeypatch, tmp_path):
    owner: dict[int, int] = {}
    for worker in range(sandbox.MAX_WORKERS):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{worker}")
        for base in set(_bases_in_use()):
            shifted = sandbox.worker_port_base(base)
            sandbox.check_port_base(shifted)
            for port in _ports(shifted):
                assert owner.setdefault(port, worker) == worker, (port, base, worker, owner[port])
    env_file = sandbox.write_sandbox_env(tmp_path, 21000)  # still the last worker's
    assert f"LAKEHOUSE_THRIFT_PORT={21007 - sandbox.WORKER_PORT_SHIFT * (sandbox.MAX_WORKERS - 1)}\n" in (
        env_file.read_text()
    )
    monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{sandbox.MAX_WORKERS}")
    with pytest.raises(ValueError, match=f"au plus {sandbox.MAX_WORKERS}"):
        sandbox.write_sandbox_env(tmp_path / "refused", 21000)
