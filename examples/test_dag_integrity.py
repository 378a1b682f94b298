"""The "DAG integrity" test, for a DAG folder of your own: copy this file and point DAGS at your folder.

Or let pytest_xcom collect the checks for you, one test per file and per DAG:
``pytest --xcom-dags examples/dags`` (or ``xcom_dags = dags/`` in your ini file).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_xcom import load_dags

DAGS = Path(__file__).parent / "dags"


@pytest.fixture(scope="module")
def parsed():
    return load_dags(DAGS)


def test_no_import_errors(parsed):
    assert parsed.import_errors == {}


def test_the_expected_dags_are_there(parsed):
    assert sorted(parsed.dags) == ["daily_sales", "sales_report"]


def test_no_file_reads_variables_connections_or_xcoms_while_parsed(parsed):
    assert parsed.parse_time_access == {}


@pytest.mark.parametrize("dag_id", ["daily_sales", "sales_report"])
def test_each_dag_survives_serialization_and_follows_the_house_rules(parsed, dag_id):
    problems = parsed.dag_problems(dag_id, rules=["tags", "owner", "retries", "no_catchup"])
    assert problems == [], "\n".join(map(str, problems))


def test_the_house_rules(parsed):
    for dag in parsed.dags.values():
        assert dag.tags, f"{dag.dag_id} has no tags"
        assert all(task.retries >= 1 for task in dag.tasks), f"{dag.dag_id} has a task without retries"
