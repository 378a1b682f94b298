"""``DAG(deadline=DeadlineAlert(...))`` in run_dag: deadlines recorded when the run is created, their
callbacks called when the run misses them on its own clock. dag.test() on Airflow 3.3 crashes on a DAG
with a deadline, so these are checked against Airflow's code (airflow/models/deadline.py), not run."""

from __future__ import annotations

import pytest
from airflow.sdk import DAG, task
from callables import fails_on

DAY_1 = "2024-01-01"


deadline_mod = pytest.importorskip("airflow.sdk.definitions.deadline", reason="DeadlineAlert is Airflow 3.1+")


@pytest.fixture
def deadline_calls(monkeypatch):
    import sys
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent / "runlevel_dags"))
    import deadline_callbacks

    monkeypatch.setattr(deadline_callbacks, "CALLS", [])
    yield deadline_callbacks
    sys.modules.pop("deadline_callbacks", None)


def _deadline_dag(dag_id, reference, interval, callback_name="record", retry_delay=None):
    from datetime import timedelta

    try:
        from airflow.sdk.definitions.callback import AsyncCallback
    except ImportError:  # Airflow 3.1 keeps it with the alert
        from airflow.sdk.definitions.deadline import AsyncCallback

    alert = deadline_mod.DeadlineAlert(
        reference=reference,
        interval=interval,
        callback=AsyncCallback(f"deadline_callbacks.{callback_name}", kwargs={"who": "ops"}),
    )
    with DAG(dag_id, schedule=None, deadline=alert) as dag:
        if retry_delay is None:
            task(lambda: 1, task_id="quick")()
        else:
            task(fails_on(1), task_id="slow", retries=1, retry_delay=timedelta(hours=retry_delay))()
    return dag


def test_a_deadline_already_past_when_the_run_starts_calls_its_callback(run_dag, deadline_calls):
    from datetime import timedelta

    ref = deadline_mod.DeadlineReference.DAGRUN_LOGICAL_DATE
    dag = _deadline_dag("late", ref, timedelta(hours=1))

    result = run_dag(dag, logical_date=DAY_1)

    (deadline,) = result.deadlines
    assert deadline.missed and deadline.deadline_time.isoformat() == "2024-01-01T01:00:00+00:00"
    (call,) = deadline_calls.CALLS
    assert call["who"] == "ops"
    assert call["context"]["dag_run"]["dag_id"] == "late"
    assert call["context"]["deadline"]["deadline_time"] == deadline.deadline_time


def test_a_run_that_succeeds_before_its_deadline_calls_nothing(run_dag, deadline_calls):
    from datetime import timedelta

    ref = deadline_mod.DeadlineReference.DAGRUN_QUEUED_AT
    result = run_dag(_deadline_dag("in_time", ref, timedelta(hours=1)), logical_date=DAY_1)

    assert result.state == "success"
    assert [d.missed for d in result.deadlines] == [False]
    assert deadline_calls.CALLS == []


def test_a_retry_delay_on_the_runs_clock_makes_the_run_miss_its_deadline(run_dag, deadline_calls):
    from datetime import timedelta

    ref = deadline_mod.DeadlineReference.DAGRUN_QUEUED_AT
    dag = _deadline_dag("retried", ref, timedelta(hours=1), retry_delay=2)

    result = run_dag(dag, logical_date=DAY_1)

    assert result.task_states[("slow", -1)] == "failed"
    assert [d.missed for d in result.deadlines] == [True]
    assert len(deadline_calls.CALLS) == 1


def test_a_raising_deadline_callback_is_logged_and_the_run_goes_on(run_dag, deadline_calls, caplog):
    from datetime import timedelta

    ref = deadline_mod.DeadlineReference.DAGRUN_LOGICAL_DATE
    result = run_dag(_deadline_dag("broken_deadline", ref, timedelta(0), "broken"), logical_date=DAY_1)

    assert result.state == "success"
    assert isinstance(result.deadlines[0].error, RuntimeError)
    assert "Deadline callback deadline_callbacks.broken failed" in caplog.text


def test_a_custom_deadline_reference_is_refused_saying_what_to_use(run_dag, deadline_calls):
    from datetime import timedelta

    base = getattr(deadline_mod, "BaseDeadlineReference", None)
    if base is None:
        pytest.skip("custom deadline references come with Airflow 3.2")

    class FromTheDatabase(base):
        pass

    dag = _deadline_dag("custom_reference", FromTheDatabase(), timedelta(hours=1))
    with pytest.raises(NotImplementedError, match=r"FromTheDatabase.*DAGRUN_LOGICAL_DATE"):
        run_dag(dag, logical_date=DAY_1)
