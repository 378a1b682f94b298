"""Human in the loop: hitl_responses answers HITL operators; without one they end at their timeout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.sdk import DAG, task

from pytest_xcom import _compat
from pytest_xcom.triggerer import TriggerWaitError

if _compat.AIRFLOW_MINOR < (3, 1):
    pytest.skip("Airflow 3.0 has no human-in-the-loop operators", allow_module_level=True)

from airflow.providers.standard.operators.hitl import (
    ApprovalOperator,
    HITLBranchOperator,
    HITLEntryOperator,
    HITLOperator,
)
from airflow.sdk import Param

HOUR = timedelta(hours=1)


def _approval_dag(**approval_kwargs) -> DAG:
    with DAG("approval", schedule=None) as dag:
        approve = ApprovalOperator(task_id="approve", subject="Ship it?", **approval_kwargs)
        approve >> task(lambda: "shipped", task_id="ship")()
    return dag


def test_an_approval_continues_the_run(run_dag):
    result = run_dag(_approval_dag(), hitl_responses={"approve": {"chosen_options": ["Approve"]}})
    assert result.task_states == {("approve", -1): "success", ("ship", -1): "success"}
    response = result["approve"].return_value
    assert response["chosen_options"] == ["Approve"]
    assert response["responded_by_user"] == {"id": "pytest", "name": "pytest"}


def test_a_rejection_skips_what_follows(run_dag):
    result = run_dag(_approval_dag(), hitl_responses={"approve": {"chosen_options": ["Reject"]}})
    assert result.task_states == {("approve", -1): "success", ("ship", -1): "skipped"}


def test_the_responding_user_is_named(run_dag):
    responses = {"approve": {"chosen_options": ["Approve"], "responded_by": "ann"}}
    result = run_dag(_approval_dag(), hitl_responses=responses)
    assert result["approve"].return_value["responded_by_user"] == {"id": "ann", "name": "ann"}


def test_without_a_response_the_defaults_are_taken_at_the_timeout(run_dag):
    result = run_dag(_approval_dag(response_timeout=HOUR, defaults="Approve"))
    assert result.task_states == {("approve", -1): "success", ("ship", -1): "success"}
    assert result["approve"].return_value["chosen_options"] == ["Approve"]


def test_without_a_response_or_defaults_the_task_fails_at_the_timeout(run_dag):
    from airflow.providers.standard.exceptions import HITLTimeoutError

    result = run_dag(_approval_dag(response_timeout=HOUR))
    assert result.task_states == {("approve", -1): "failed", ("ship", -1): "upstream_failed"}
    assert isinstance(result["approve"].error, HITLTimeoutError)


def test_without_a_response_or_a_timeout_the_wait_is_an_error_not_a_hang(run_dag):
    with pytest.raises(TriggerWaitError):
        run_dag(_approval_dag())


def test_a_branch_follows_the_chosen_option(run_dag):
    with DAG("branching", schedule=None) as dag:
        pick = HITLBranchOperator(task_id="pick", subject="Which?", options=["left", "right"])
        pick >> [task(lambda: 1, task_id="left")(), task(lambda: 2, task_id="right")()]
    result = run_dag(dag, hitl_responses={"pick": {"chosen_options": ["right"]}})
    assert result.task_states[("left", -1)] == "skipped"
    assert result.task_states[("right", -1)] == "success"


def test_an_entry_receives_the_params_input(run_dag):
    with DAG("entry", schedule=None) as dag:
        HITLEntryOperator(task_id="entry", subject="Rows?", params={"rows": Param(1, type="integer")})
    result = run_dag(dag, hitl_responses={"entry": {"chosen_options": ["OK"], "params_input": {"rows": 7}}})
    assert result["entry"].return_value["params_input"] == {"rows": 7}


# From 3.3 the Core API checks a response as it is given; before, the operator checks it when it resumes.
API_CHECKS_RESPONSES = _compat.AIRFLOW_MINOR >= (3, 3)


def _ask_dag(**kwargs) -> DAG:
    with DAG("bad_choice", schedule=None) as dag:
        HITLOperator(task_id="ask", subject="?", options=["a", "b"], **kwargs)
    return dag


@pytest.mark.skipif(API_CHECKS_RESPONSES, reason="the 3.3 API refuses such a response")
def test_a_response_outside_the_options_fails_the_task_as_airflow_does(run_dag):
    result = run_dag(_ask_dag(), hitl_responses={"ask": {"chosen_options": ["c"]}})
    assert result.task_states[("ask", -1)] == "failed"
    assert "not in" in str(result["ask"].error)


@pytest.mark.skipif(not API_CHECKS_RESPONSES, reason="before 3.3 the API stores any response")
@pytest.mark.parametrize(
    ("chosen", "match"),
    [
        (["c"], r"Invalid options \['c'\]; allowed options are \['a', 'b'\]"),
        (["a", "b"], "accepts only a single option"),
    ],
)
def test_a_response_the_api_refuses_is_an_error_naming_the_refusal(run_dag, chosen, match):
    with pytest.raises(ValueError, match=match):
        run_dag(_ask_dag(), hitl_responses={"ask": {"chosen_options": chosen}})


@pytest.mark.skipif(not API_CHECKS_RESPONSES, reason="before 3.3 the API stores any response")
def test_several_options_are_accepted_where_the_task_takes_several(run_dag):
    result = run_dag(_ask_dag(multiple=True), hitl_responses={"ask": {"chosen_options": ["a", "b"]}})
    assert result["ask"].return_value["chosen_options"] == ["a", "b"]


def test_run_task_resumes_a_hitl_task_with_the_response(run_task):
    dag = _approval_dag()
    result = run_task(dag.task_dict["approve"], hitl_responses={"approve": {"chosen_options": ["Approve"]}})
    assert result.state == "success"
    assert result.return_value["chosen_options"] == ["Approve"]


def test_run_task_without_a_response_reports_the_waiting_state(run_task):
    result = run_task(_approval_dag().task_dict["approve"])
    assert result.state in ("deferred", "awaiting_input")


@pytest.mark.parametrize(
    ("responses", "match"),
    [
        ({"approve": ["Approve"]}, "must be a dict"),
        ({"approve": {"options": ["Approve"]}}, "has keys"),
    ],
)
def test_malformed_responses_are_refused_naming_the_fix(run_dag, responses, match):
    with pytest.raises(TypeError, match=match):
        run_dag(_approval_dag(), hitl_responses=responses)
