"""The README documents every public name, and the type of every fixture."""

from __future__ import annotations

import re
from pathlib import Path

import pytest_xcom
from pytest_xcom import plugin, strategies

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#+ )", README, re.MULTILINE | re.DOTALL)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def test_the_api_reference_has_a_row_for_each_public_name_in_order():
    rows = re.findall(r"^\| `(\w+)` \|", _section("API reference"), re.MULTILINE)
    assert rows == pytest_xcom.__all__


def test_every_strategy_is_named():
    assert [name for name in strategies.__all__ if f"`{name}`" not in README] == []


def test_each_fixture_has_its_type_in_the_type_table():
    fixtures = sorted(
        name
        for name, value in vars(plugin).items()
        if hasattr(value, "_fixture_function_marker") or type(value).__name__ == "FixtureFunctionDefinition"
    )
    fixtures = [name for name in fixtures if not name.startswith("_")]
    table = dict(re.findall(r"^\| `(\w+)` \| `(\w+)`", _section("Type hints"), re.MULTILINE))
    assert sorted(table) == fixtures
    assert [t for t in table.values() if t not in pytest_xcom.__all__] == []
