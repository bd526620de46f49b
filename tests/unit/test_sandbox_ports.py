"""Throwaway stacks keep every port, gRPC included, out of the kernel's ephemeral range."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lakehouse_dev import sandbox

ROOT = Path(__file__).resolve().parents[2]


def test_a_base_whose_grpc_ports_reach_the_ephemeral_range_is_refused(tmp_path):
    start = sandbox.ephemeral_range_start()
    with pytest.raises(ValueError, match="plage éphémère"):
        sandbox.write_sandbox_env(tmp_path, start - 10000 - 4)
    assert not (tmp_path / "lakehouse.env").exists()


def test_every_base_used_by_tests_and_benchmarks_is_accepted_and_distinct():
    pattern = re.compile(r"(?:PORT_BASE\s*=\s*|sandbox_(?:settings|env)\([^,]+,\s*)(\d{4,5})")
    bases = []
    for path in [*ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/*.py")]:
        bases += [int(found) for found in pattern.findall(path.read_text(encoding="utf-8"))]
    assert len(bases) >= 8, bases
    for base in set(bases):
        sandbox.check_port_base(base)
    distinct = sorted(set(bases))
    assert all(b - a >= sandbox.PORTS_PER_STACK + 1 for a, b in zip(distinct, distinct[1:], strict=False)), distinct
