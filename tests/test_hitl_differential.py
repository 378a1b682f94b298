"""Human in the loop against dag.test(): the same responses, given through Airflow's own API there and
through ``hitl_responses`` here, must leave the same task states, run state and XComs.

In dag.test() each response is written by the public API's route (``update_hitl_detail``) while the
operator waits for it (``pytest_xcom._dagtest``, ``hitl_responses=``). ``responded_at`` is the wall clock
of the response on both sides, so it is compared by type only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagfiles import load_dags

from pytest_xcom import _compat, run_dag
from pytest_xcom._dagtest import DagTestRequest, run_dag_tests

pytestmark = pytest.mark.slow

if _compat.AIRFLOW_MINOR < (3, 1):
    pytest.skip("Airflow 3.0 has no human-in-the-loop operators", allow_module_level=True)

DAG_FILE = Path(__file__).parent / "deployment_dags" / "hitl_steps.py"
LOGICAL_DATE = datetime(2024, 1, 1, tzinfo=UTC)
# dag.test() of Airflow 3.3 does not run the scheduler's sweep that ends an awaiting_input task at its
# response_timeout: a task nobody answers waits there for ever. Before 3.3 the HITLTrigger ends it.
TIMEOUT_IN_DAG_TEST = _compat.AIRFLOW_MINOR < (3, 3)

RESPONSES = {
    "hitl_steps": {
        "approve": {"chosen_options": ["Approve"]},
        "pick": {"chosen_options": ["production"]},
        "form": {
            "chosen_options": ["OK"],
            "params_input": {"replicas": 3, "note": "ok"},
            "responded_by": "ann",
        },
    },
    "hitl_rejected": {"approve": {"chosen_options": ["Reject"]}},
    "hitl_timeout": {},
    # Last: on 3.3 the API refuses it and the harness interrupts dag.test().
    "hitl_invalid": {"ask": {"chosen_options": ["c"]}},
}
# From 3.3 the Core API refuses a response outside the task's options (400) instead of storing it.
API_REFUSES_INVALID = not TIMEOUT_IN_DAG_TEST


@pytest.fixture(scope="module")
def runs():
    dag_ids = [d for d in RESPONSES if d != "hitl_timeout" or TIMEOUT_IN_DAG_TEST]
    requests = [
        DagTestRequest(DAG_FILE, d, logical_date=LOGICAL_DATE, hitl_responses=RESPONSES[d]) for d in dag_ids
    ]
    dags = load_dags(DAG_FILE)
    compared = {}
    for dag_id, real in zip(dag_ids, run_dag_tests(requests, timeout=300), strict=True):
        if isinstance(real, Exception) and not (dag_id == "hitl_invalid" and API_REFUSES_INVALID):
            raise real
        if isinstance(real, Exception):
            compared[dag_id] = real, None
            continue
        ours = run_dag(dags[dag_id], logical_date=LOGICAL_DATE, hitl_responses=RESPONSES[dag_id])
        compared[dag_id] = real, ours
    return compared


def _comparable(xcoms):
    """XComs with each response's ``responded_at`` (a wall-clock time) replaced by its type."""
    return {
        key: {**value, "responded_at": type(value["responded_at"])}
        if isinstance(value, dict) and "responded_at" in value
        else value
        for key, value in xcoms.items()
    }


@pytest.mark.parametrize(
    "dag_id",
    [
        "hitl_steps",
        "hitl_rejected",
        pytest.param(
            "hitl_timeout",
            marks=pytest.mark.skipif(
                not TIMEOUT_IN_DAG_TEST, reason="dag.test() of 3.3 has no timeout sweep"
            ),
        ),
        pytest.param(
            "hitl_invalid",
            marks=pytest.mark.skipif(API_REFUSES_INVALID, reason="the 3.3 API refuses the response"),
        ),
    ],
)
def test_the_run_matches_dag_test(runs, dag_id):
    real, ours = runs[dag_id]
    assert ours.task_states == real.task_states
    assert ours.state == real.state
    assert _comparable(ours.xcoms) == _comparable(real.xcoms)


def test_the_responses_reached_the_operators(runs):
    # Guards the comparison above against two runs that failed alike.
    real, _ = runs["hitl_steps"]
    assert real.task_states[("staging", -1)] == "skipped"
    assert real.xcoms[("replicas", -1, "return_value")] == 6
    assert real.xcoms[("form", -1, "return_value")]["responded_by_user"] == {"id": "ann", "name": "ann"}
    assert runs["hitl_rejected"][0].task_states[("ship", -1)] == "skipped"


@pytest.mark.skipif(not API_REFUSES_INVALID, reason="before 3.3 the API stores the response; the task fails")
def test_a_response_the_api_refuses_ends_the_reference_run_with_the_refusal(runs):
    # In Airflow the task would go on waiting; the harness reports the refusal instead of waiting with it.
    real, _ = runs["hitl_invalid"]
    assert isinstance(real, Exception)
    assert "Invalid options ['c']; allowed options are ['a', 'b']" in str(real)
    # run_dag refuses it too, with the API's words.
    with pytest.raises(ValueError, match=r"Invalid options \['c'\]; allowed options are \['a', 'b'\]"):
        run_dag(load_dags(DAG_FILE)["hitl_invalid"], hitl_responses=RESPONSES["hitl_invalid"])
