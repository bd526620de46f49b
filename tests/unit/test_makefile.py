"""The Makefile is the user's interface: `make help` lists every target with one line, in French,
grouped in sections."""

from __future__ import annotations

import re
import subprocess

from lakehouse.core.settings import PROJECT_ROOT

MAKEFILE = PROJECT_ROOT / "Makefile"


def _targets() -> set[str]:
    phony = set()
    for line in re.findall(r"^\.PHONY:(.*)$", MAKEFILE.read_text(), re.MULTILINE):
        phony.update(line.split())
    return phony


def _help() -> dict[str, list[tuple[str, str]]]:
    """Section title -> [(target, help text)] as `make help` prints them."""
    output = subprocess.run(["make", "-s", "help"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in output.splitlines()[1:]:
        if not line.strip():
            continue
        if line.startswith("  "):
            assert current is not None, f"target outside a section: {line}"
            target, text = line.split(maxsplit=1)
            sections[current].append((target, text))
        else:
            current = line.strip()
            sections[current] = []
    return sections


def test_every_phony_target_has_a_help_line():
    documented = set(re.findall(r"^([a-zA-Z_-]+):.*## ", MAKEFILE.read_text(), re.MULTILINE))
    assert _targets() == documented


def test_make_help_lists_every_target_once_under_a_section():
    sections = _help()
    listed = [target for entries in sections.values() for target, _ in entries]
    assert sorted(listed) == sorted(_targets())
    assert len(sections) >= 5 and all(sections.values())
    for target in ("setup", "up", "down", "status", "beeline", "run", "test", "lint", "bench"):
        assert target in listed


def test_help_is_written_in_french():
    english = re.compile(r"\b(the|and|of|with|every|Run|Start|Stop|Show|List|Check|Build)\b")
    texts = [text for entries in _help().values() for _, text in entries]
    assert not [text for text in texts if english.search(text)]


def test_make_test_runs_the_style_checks_first():
    assert re.search(r"^test: .*\blint\b.*##", MAKEFILE.read_text(), re.MULTILINE)


def test_make_help_states_the_orphan_window_of_the_shipped_policy():
    from lakehouse.core.maintenance_policy import ORPHAN_FLOOR_HOURS, load_policy

    window = load_policy(PROJECT_ROOT / "conf" / "maintenance.toml").defaults["orphan_min_age_hours"]
    [text] = [text for section in _help().values() for target, text in section if target == "remove-orphans"]
    assert f"({window} h, jamais moins de {ORPHAN_FLOOR_HOURS} h)" in text, text
