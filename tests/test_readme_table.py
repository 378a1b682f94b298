"""The README's round-trip table is ROUNDTRIP_TABLE rendered, and every example in it is true.

The table cannot drift: each example's value is its code as the README shows it, evaluated, and what the
README says a downstream task receives is checked here against the store (step by step) and in
test_properties.py against Airflow's own path.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_xcom import _compat, roundtrips
from pytest_xcom.roundtrips import (
    AIRFLOW_MINORS,
    ROUNDTRIP_TABLE,
    SAME,
    STEPS,
    TABLE_END,
    TABLE_START,
    Refused,
    _attempt,
    _same,
    render_table,
    replace_table,
)

README = Path(__file__).resolve().parents[1] / "README.md"
REGENERATE = "python -m pytest_xcom.roundtrips --update README.md"

EXAMPLES = [pytest.param(example, id=example.code) for row in ROUNDTRIP_TABLE for example in row.examples]
# The table's fates are this Airflow's: 3.3's, or where the example says it differs, this minor's.
MINOR = "{}.{}".format(*_compat.AIRFLOW_MINOR)


def test_the_readme_shows_the_rendered_table():
    text = README.read_text(encoding="utf-8")
    if TABLE_START not in text or TABLE_END not in text:
        pytest.fail(
            f"README.md has no round-trip table: put the lines {TABLE_START} and {TABLE_END} where it "
            f"belongs and run `{REGENERATE}`"
        )
    shown = text[text.index(TABLE_START) + len(TABLE_START) : text.index(TABLE_END)].strip()

    if shown != render_table():
        diff = "\n".join(difflib.unified_diff(shown.splitlines(), render_table().splitlines(), lineterm=""))
        pytest.fail(f"README.md's round-trip table is out of date; run `{REGENERATE}`\n{diff}")


@pytest.mark.parametrize("example", EXAMPLES)
def test_each_example_arrives_as_the_table_says(example):
    outcome = _attempt(example.value)
    receives = example.receives_on(MINOR)

    if isinstance(receives, Refused):
        assert outcome.error is not None, f"{example.code} arrived as {outcome.value!r}"
        assert (type(outcome.error).__name__, outcome.phase, outcome.step) == tuple(receives), outcome
    else:
        assert outcome.error is None, f"{example.code} raised {outcome.error!r}"
        expected = example.value if receives is SAME else receives
        assert _same(expected, outcome.value), f"{example.code} arrived as {outcome.value!r}"


@pytest.mark.parametrize("example", EXAMPLES)
@pytest.mark.parametrize("minor", AIRFLOW_MINORS)
def test_each_changed_example_does_change(example, minor):
    # A row that says "receives X" must not be a value that arrives as pushed.
    receives = example.receives_on(minor)
    if receives is not SAME and not isinstance(receives, Refused):
        assert not _same(example.value, receives)


def test_every_refusal_names_a_known_step():
    for row in ROUNDTRIP_TABLE:
        for example in row.examples:
            for receives in (example.receives, *example.differs_on.values()):
                if isinstance(receives, Refused):
                    assert receives.step in STEPS
                    assert receives.phase in {"push", "pull"}


def test_differences_are_named_by_supported_minor_versions():
    assert AIRFLOW_MINORS == tuple("{}.{}".format(*minor) for minor in _compat.SUPPORTED_MINORS)
    for row in ROUNDTRIP_TABLE:
        for example in row.examples:
            assert set(example.differs_on) <= set(AIRFLOW_MINORS) - {"3.3"}, example.code


def test_the_table_says_where_a_fate_differs_between_versions():
    uuid_line = next(line for line in render_table().splitlines() if "`UUID('" in line)

    assert "the same; on Airflow 3.0, 3.1: push raises `TypeError`" in uuid_line


def test_every_row_has_examples_and_one_line():
    for row in ROUNDTRIP_TABLE:
        assert row.examples, row.kind
        assert "\n" not in row.kind + row.note


def test_replace_table_keeps_the_rest_of_the_readme():
    text = f"# Title\n\nintro\n{TABLE_START}\nold table\n{TABLE_END}\n\noutro\n"

    replaced = replace_table(text)

    assert replaced == f"# Title\n\nintro\n{TABLE_START}\n{render_table()}\n{TABLE_END}\n\noutro\n"
    assert replace_table(replaced) == replaced


def test_the_command_updates_a_readme(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{TABLE_START}\n{TABLE_END}\nafter\n", encoding="utf-8")

    assert roundtrips._main(["--update", str(readme)]) == 0

    assert (
        readme.read_text(encoding="utf-8") == f"before\n{TABLE_START}\n{render_table()}\n{TABLE_END}\nafter\n"
    )


@pytest.mark.parametrize("hash_seed", ["1", "2"])
def test_the_command_prints_the_same_table_in_any_process(hash_seed):
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    printed = subprocess.run(
        [sys.executable, "-m", "pytest_xcom.roundtrips", "--table"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )

    assert printed.stdout == render_table() + "\n"
    assert printed.stderr == ""
