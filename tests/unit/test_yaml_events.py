"""partner_sandbox/yaml_events.load gives exactly what yaml.load (the safe loader) gives, value for
value and type for type, or raises the same error: on the project's own YAML files and on
documents chosen for the corners of YAML 1.1 as PyYAML reads it."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from partner_sandbox import yaml_events

ROOT = Path(__file__).resolve().parents[2]
LOADERS = [yaml.SafeLoader, *([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])]

CORNERS = [
    "partners: [{id: p, users: [{id: 1}, {id: 22}, {id: 0}]}]",
    "a: 012\nb: 0o12\nc: 0x1F\nd: 1_000\ne: -5\nf: +5\ng: 09\nh: 190:20:30\ni: '12'\nj: \"13\"",
    "a: 1.5\nb: 1e5\nc: 1.0e+5\nd: .inf\ne: -.Inf\nf: .nan\ng: 1_0.5",
    "a: yes\nb: No\nc: on\nd: OFF\ne: true\nf: False\ng: y\nh: n",
    "a: null\nb: ~\nc:\nd: Null\ne: ''",
    "a: 2001-12-14\nb: 2001-12-14t21:59:43.10-05:00\nc: 2001-12-14 21:59:43.10 +5",
    "a: '٣'\nb: ٣\nc: ²\nd: 12345678901234567890123",
    "- |\n  block\n  text\n- >\n  folded\n  text\n- plain text\n- 'single'\n- \"double\\ttab\"",
    "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2",
    "a: &x [1, 2]\nb: *x",
    "a: !!str 12\nb: !!int '7'\nc: !!float 3\nd: !custom x",
    "=: value key\nother: 1",
    "? [1, 2]\n: unhashable key",
    "? {a: 1}\n: unhashable key",
    "a: 1\na: 2",
    "1: int key\n1.5: float key\ntrue: bool key\n~: null key",
    "--- 1\n--- 2",
    "",
    "# only a comment",
    "just a scalar",
    "[1, [2, [3, {a: [4]}]]]",
    "a: [unclosed",
    "a: b: c",
    "\t- tab",
    "%YAML 1.1\n---\na: 1",
    "key: value\n...\n",
    "!!set {a, b}",
    "a: '\\u00e9'\nb: \"\\u00e9\\x41\"",
]


def typed(value):
    """The value with every scalar's type spelled out (1 == True == 1.0 in Python; not here)."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [typed(v) for v in value])
    if isinstance(value, float) and value != value:
        return ("float", "nan")
    return (type(value).__name__, value)


def outcome(load, text: str, loader):
    try:
        return "value", typed(load(text, loader))
    except Exception as exc:  # noqa: BLE001 — the error is part of the behaviour compared
        return "error", type(exc).__name__, str(exc)


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
@pytest.mark.parametrize("text", CORNERS)
def test_a_corner_of_yaml_loads_as_pyyaml_loads_it(text, loader):
    assert outcome(yaml_events.load, text, loader) == outcome(lambda t, ld: yaml.load(t, Loader=ld), text, loader)


def project_yaml_files() -> list[Path]:
    return sorted(p for pattern in ("*.yaml", "fixtures/*.yaml", "tests/fixtures/*.yaml", "docs/**/*.yaml")
                  for p in ROOT.glob(pattern))


@pytest.mark.parametrize("path", project_yaml_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_file_of_the_project_loads_as_pyyaml_loads_it(path):
    text = path.read_text(encoding="utf-8")
    loader = LOADERS[-1]
    assert outcome(yaml_events.load, text, loader) == outcome(lambda t, ld: yaml.load(t, Loader=ld), text, loader)


def test_scalars_of_a_large_world_have_pyyaml_types():
    text = "users:\n" + "".join(f"  - {{id: {i}, role: agent, since: 2024-01-0{1 + i % 9}, flag: yes}}\n"
                                for i in range(2000))
    loaded = yaml_events._from_events(text, yaml_events.LOADER)  # the events' way, not PyYAML's (no fallback)
    assert loaded == yaml.load(text, Loader=LOADERS[-1])
    first = loaded["users"][0]
    assert type(first["id"]) is int and first["flag"] is True and type(first["since"]) is date
    assert not isinstance(first["since"], datetime)
