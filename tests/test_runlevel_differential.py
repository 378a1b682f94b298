"""Run-level behaviour against dag.test(): DAG callbacks, runs that depend on earlier runs,
include_prior_dates pulls across runs, rendered map indexes.

The dag.test() side runs as one batch (one Airflow start for every DAG here). A DAG held by its earlier
run makes dag.test() wait for ever; the harness gives up after a few of its one-second waits and
reports the run as it was left.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagfiles import load_dags

import pytest_xcom
from pytest_xcom._dagtest import DagTestOutcome, DagTestRequest, run_dag_tests
from pytest_xcom.store import XComStore

pytestmark = pytest.mark.slow

DAGS = Path(__file__).parent / "runlevel_dags"
FIRST_DAY = datetime(2024, 1, 1, tzinfo=UTC)
CALLBACK_DAGS = ["callback_success", "callback_failure", "callback_success_raises"]
TWO_RUN_DAGS = ["past_fails_first", "past_wait_for_downstream", "past_succeeds"]


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    """What dag.test() did with every DAG here: {dag_id: outcome}, and the callbacks' log lines."""
    log = tmp_path_factory.mktemp("callbacks") / "airflow.jsonl"
    log.touch()
    requests = [DagTestRequest(DAGS / "callbacks.py", d, logical_date=FIRST_DAY) for d in CALLBACK_DAGS]
    requests += [
        DagTestRequest(DAGS / "earlier_runs.py", d, logical_date=FIRST_DAY, repeat=2, max_waits=2)
        for d in TWO_RUN_DAGS
    ]
    requests.append(DagTestRequest(DAGS / "map_index.py", "rendered_map_index", logical_date=FIRST_DAY))
    results = run_dag_tests(requests, env={"PYTEST_XCOM_CALLBACK_LOG": str(log)})
    pairs = zip(requests, results, strict=True)
    errors = {q.dag_id: r for q, r in pairs if not isinstance(r, DagTestOutcome)}
    assert not errors, errors
    return {r.dag_id: r for r in results}, _lines(log)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _calls(lines: list[dict], dag_id: str) -> list[dict]:
    # The run_id is generated from the run's date in dag.test() and from "now" in run_dag.
    return [{k: v for k, v in line.items() if k != "run_id"} for line in lines if line["dag_id"] == dag_id]


@pytest.mark.parametrize("dag_id", CALLBACK_DAGS)
def test_dag_callbacks_are_called_as_airflow_calls_them(airflow, dag_id, tmp_path, monkeypatch):
    outcomes, airflow_lines = airflow
    log = tmp_path / "ours.jsonl"
    log.touch()
    monkeypatch.setenv("PYTEST_XCOM_CALLBACK_LOG", str(log))

    ours = pytest_xcom.run_dag(load_dags(DAGS / "callbacks.py")[dag_id], logical_date=FIRST_DAY)

    assert ours.state == outcomes[dag_id].state
    assert ours.task_states == outcomes[dag_id].task_states
    assert _calls(_lines(log), dag_id) == _calls(airflow_lines, dag_id)


@pytest.mark.parametrize("dag_id", TWO_RUN_DAGS)
def test_a_second_run_judges_depends_on_past_against_the_first(airflow, dag_id):
    outcomes, _ = airflow
    dag = load_dags(DAGS / "earlier_runs.py")[dag_id]
    store = XComStore()
    days = [FIRST_DAY, FIRST_DAY + timedelta(days=1)]
    ours = [pytest_xcom.run_dag(dag, logical_date=day, store=store) for day in days]

    real = outcomes[dag_id].calls
    assert [r.state for r in ours] == [c.state for c in real]
    assert [r.task_states for r in ours] == [c.task_states for c in real]
    assert [r.xcoms for r in ours] == [c.xcoms for c in real]


def test_rendered_map_indexes_are_what_airflow_stores(airflow):
    outcomes, _ = airflow
    ours = pytest_xcom.run_dag(load_dags(DAGS / "map_index.py")["rendered_map_index"], logical_date=FIRST_DAY)

    real = outcomes["rendered_map_index"].calls[0]
    assert ours.task_states == real.task_states
    assert {key: t.rendered_map_index for key, t in ours.tasks.items()} == real.rendered_map_indexes
