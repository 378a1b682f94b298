"""The README documents every public name and each fixture's type, and says what dag.test() does with NaN
and with a None XCom."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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


@pytest.mark.slow
def test_what_dag_test_does_with_nan_and_big_ints_is_what_the_readme_says(tmp_path):
    """README, "What a value becomes": NaN fails the task in dag.test() with a ValueError; 2**64 does not."""
    from datetime import UTC, datetime

    from dagfiles import load_dags

    from pytest_xcom import run_dag
    from pytest_xcom._compat import AirflowRuntimeError
    from pytest_xcom._dagtest import DagTestRequest, run_dag_tests

    dag_file = Path(__file__).parent / "results_dags" / "refused_values.py"
    when = datetime(2024, 1, 1, tzinfo=UTC)
    log = tmp_path / "dag_test.log"
    dag_ids = ("push_nan", "push_big_int")
    requests = [DagTestRequest(dag_file, dag_id, logical_date=when) for dag_id in dag_ids]
    nan, big = run_dag_tests(requests, log_file=log)

    assert nan.task_states == {("push_nan", -1): "failed"}
    assert "ValueError: Out of range float values are not JSON compliant" in log.read_text()
    assert big.task_states == {("push_big_int", -1): "success"}
    assert big.xcoms == {("push_big_int", -1, "return_value"): float(2**64)}  # SQLite's JSON: a float

    dags = load_dags(dag_file)
    ours_nan = run_dag(dags["push_nan"], logical_date=when)["push_nan"]
    ours_big = run_dag(dags["push_big_int"], logical_date=when)["push_big_int"]
    assert ours_nan.state == ours_big.state == "failed"
    assert isinstance(ours_nan.error, AirflowRuntimeError)
    assert isinstance(ours_big.error, OverflowError)


@pytest.mark.slow
def test_a_none_xcom_fares_as_in_dag_test():
    """README, "What a value becomes": Airflow 3.0's API server refuses a None XCom, later ones store it."""
    from datetime import UTC, datetime

    from dagfiles import load_dags

    from pytest_xcom import _compat, run_dag
    from pytest_xcom._dagtest import run_dag_test

    dag_file = Path(__file__).parent / "results_dags" / "refused_values.py"
    when = datetime(2024, 1, 1, tzinfo=UTC)
    real = run_dag_test(dag_file, "push_none", logical_date=when)
    ours = run_dag(load_dags(dag_file)["push_none"], logical_date=when)

    assert ours.task_states == real.task_states
    assert ours.xcoms == real.xcoms
    if _compat.XCOM_NONE_REFUSED:
        assert real.task_states[("push_none", -1)] == "failed"
        assert "Field required" in str(ours["push_none"].error)
    else:
        assert real.xcoms[("pull_none", -1, "return_value")] == ["default"]  # None stored: the default
