"""Every message a task (or a trigger) can send has an answer; the last ones served, answered as the
execution API answers them."""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagfiles import load_dags

from pytest_xcom import _compat, run_dag
from pytest_xcom._compat import comms_messages as m
from pytest_xcom._dagtest import run_dag_test
from pytest_xcom.comms import _OUTCOME_MESSAGES, InMemorySupervisorComms

BREADCRUMBS_DAG = Path(__file__).parent / "deployment_dags" / "breadcrumbs.py"
needs_breadcrumbs = pytest.mark.skipif(
    not _compat.has_message("GetTaskBreadcrumbs"), reason="tasks ask for breadcrumbs from Airflow 3.2"
)


def _members(union: typing.Any) -> list[str]:
    return [member.__name__ for member in typing.get_args(typing.get_args(union)[0])]


def _sent_by_tasks_and_triggers() -> list[str]:
    names = _members(m.ToSupervisor)
    try:
        from airflow.jobs.triggerer_job_runner import ToTriggerSupervisor
    except ImportError:  # a task SDK without the triggerer installed next to it
        return names
    # TriggerStateChanges is the trigger runner process reporting to its supervisor, not a trigger.
    return names + [n for n in _members(ToTriggerSupervisor) if n != "TriggerStateChanges"]


def test_every_message_a_task_or_trigger_can_send_is_served():
    served = set(InMemorySupervisorComms._HANDLERS) | {cls.__name__ for cls in _OUTCOME_MESSAGES}
    assert sorted(set(_sent_by_tasks_and_triggers()) - served) == []


def test_a_request_for_a_new_log_socket_gets_the_empty_answer(xcom_comms):
    # A task started as another user asks for it (reinit_supervisor_comms); it logs in-process here.
    assert xcom_comms.send(m.ResendLoggingFD()) is None


@needs_breadcrumbs
def test_breadcrumbs_list_the_finished_task_instances():
    result = run_dag(load_dags(BREADCRUMBS_DAG)["breadcrumbs"])
    assert result["crumbs"].return_value == [
        ["after_failure", -1, "upstream_failed", "_PythonDecoratedOperator", True],
        ["fail", -1, "failed", "_PythonDecoratedOperator", True],
        ["ok", -1, "success", "_PythonDecoratedOperator", True],
        ["shard", 0, "success", "_PythonDecoratedOperator", True],
        ["shard", 1, "success", "_PythonDecoratedOperator", True],
        ["skip", -1, "skipped", "_PythonDecoratedOperator", True],
    ]


@needs_breadcrumbs
def test_breadcrumbs_of_a_single_task_run_are_empty(run_task):
    # The run of run_task has no other task instance, and the asking one is still running.
    result = run_task(load_dags(BREADCRUMBS_DAG)["breadcrumbs"].task_dict["crumbs"])
    assert result.return_value == []


@needs_breadcrumbs
@pytest.mark.slow
def test_breadcrumbs_match_dag_test():
    logical_date = datetime(2024, 1, 1, tzinfo=UTC)
    real = run_dag_test(BREADCRUMBS_DAG, "breadcrumbs", logical_date=logical_date)
    ours = run_dag(load_dags(BREADCRUMBS_DAG)["breadcrumbs"], logical_date=logical_date)
    assert ours.task_states == real.task_states
    assert ours.xcoms[("crumbs", -1, "return_value")] == real.xcoms[("crumbs", -1, "return_value")]
