"""Testing a human approval step: answer it with hitl_responses, or let it time out."""

from __future__ import annotations

import pytest

from pytest_xcom import _compat

if _compat.AIRFLOW_MINOR < (3, 1):
    pytest.skip("human-in-the-loop operators arrived in Airflow 3.1", allow_module_level=True)

from approval import release


def test_an_approved_release_ships(run_dag):
    result = run_dag(release, hitl_responses={"approve_release": {"chosen_options": ["Approve"]}})

    assert result["ship"].return_value == "shipped v1.2.3"


def test_a_rejected_release_does_not_ship(run_dag):
    result = run_dag(release, hitl_responses={"approve_release": {"chosen_options": ["Reject"]}})

    assert result.task_states[("ship", -1)] == "skipped"


def test_nobody_answering_takes_the_default_after_the_timeout(run_dag):
    # The run's clock moves 4 hours instead of the test waiting them.
    result = run_dag(release)

    assert result.task_states == {
        ("build", -1): "success",
        ("approve_release", -1): "success",  # rejected by default: what follows is skipped
        ("ship", -1): "skipped",
    }
