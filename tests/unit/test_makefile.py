"""The Makefile is the user's interface: `make help` lists every target with one line."""

from __future__ import annotations

import re
import subprocess

from lakehouse.settings import PROJECT_ROOT


def _targets() -> set[str]:
    text = (PROJECT_ROOT / "Makefile").read_text()
    phony = set()
    for line in re.findall(r"^\.PHONY:(.*)$", text, re.MULTILINE):
        phony.update(line.split())
    return phony


def test_every_phony_target_has_a_help_line():
    text = (PROJECT_ROOT / "Makefile").read_text()
    documented = set(re.findall(r"^([a-zA-Z_-]+):.*## ", text, re.MULTILINE))
    assert _targets() == documented


def test_make_help_lists_every_target():
    output = subprocess.run(["make", "-s", "help"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
    listed = {line.split()[0] for line in output.splitlines()[1:] if line.strip()}
    assert _targets() == listed
    for target in ("setup", "up", "down", "status", "beeline", "run", "test", "bench"):
        assert target in listed
