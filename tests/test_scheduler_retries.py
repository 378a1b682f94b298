"""Retries as the scheduler handles them: up_for_retry while retry_delay runs, other tasks going on."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task
from dagfiles import load_dags

from pytest_xcom._compat import AIRFLOW_MINOR

DAGS = Path(__file__).parent / "scheduler_dags"


@pytest.fixture(scope="module")
def retry_dags():
    return load_dags(DAGS / "retries.py")


def test_a_one_success_task_runs_while_its_other_upstream_waits_to_retry(run_dag, retry_dags):
    result = run_dag(retry_dags["retry_one_success"])
    assert result.task_states[("flaky", -1)] == "success"
    assert result["flaky"].try_number == 2
    # It ran before flaky's second try, so it pulled nothing from flaky.
    assert ("first_success", -1, "return_value") not in result.xcoms
    assert result.xcoms[("flaky", -1, "return_value")] == "flaky ok"


def test_the_shorter_retry_delay_retries_first(run_dag, retry_dags):
    result = run_dag(retry_dags["retry_delays_order"])
    assert result.xcoms[("fast_retry", -1, "return_value")] == ["fast", None]
    assert result.xcoms[("slow_retry", -1, "return_value")] == ["slow", ["fast", None]]


def test_rules_decided_while_an_upstream_waits_to_retry(run_dag, retry_dags):
    result = run_dag(retry_dags["retry_one_failed"])
    assert result.task_states == {
        ("always_fails", -1): "failed",
        ("steady", -1): "success",
        ("watcher", -1): "success",
        ("skipper", -1): "skipped",
    }
    assert result["always_fails"].try_number == 3


@pytest.mark.skipif(
    AIRFLOW_MINOR < (3, 3),
    reason="before 3.3 a one_success task in a mapped group runs on any index's success; "
    "test_scheduler_differential checks it against that version's dag.test()",
)
def test_retries_inside_a_mapped_group_hold_back_only_their_own_index(run_dag, retry_dags):
    result = run_dag(retry_dags["retry_in_mapped_group"])
    assert [result.task_states[("items.any_ok", i)] for i in range(3)] == ["success"] * 3
    assert result.tasks[("items.flaky_item", 1)].try_number == 2
    assert [result.xcoms[("items.any_ok", i, "return_value")] for i in range(3)] == [1, 2, 3]


def test_a_long_retry_delay_moves_the_runs_clock_instead_of_sleeping(run_dag):
    with DAG("hour_delay", schedule=None) as dag:

        @task(retries=1, retry_delay=timedelta(hours=1))
        def again(ti=None):
            if ti.try_number == 1:
                raise ValueError("first")
            return ti.try_number

        again() >> EmptyOperator(task_id="after")
    result = run_dag(dag)
    assert result.task_states == {("again", -1): "success", ("after", -1): "success"}
    assert result.xcoms[("again", -1, "return_value")] == 2


def test_a_sensor_in_reschedule_mode_pokes_again_on_the_runs_clock(run_dag):
    from airflow.providers.standard.sensors.python import PythonSensor

    pokes = []

    def ready() -> bool:
        pokes.append(1)
        return len(pokes) == 3

    with DAG("reschedule", schedule=None) as dag:
        PythonSensor(task_id="wait", python_callable=ready, mode="reschedule", poke_interval=60) >> (
            EmptyOperator(task_id="after")
        )
    result = run_dag(dag)
    assert result.task_states == {("wait", -1): "success", ("after", -1): "success"}
    assert len(pokes) == 3
    assert result["wait"].try_number == 1  # a reschedule is not a new try


def test_a_sensor_in_reschedule_mode_times_out_as_it_would_in_airflow(run_dag):
    from airflow.providers.standard.sensors.python import PythonSensor

    with DAG("never_ready", schedule=None) as dag:
        PythonSensor(
            task_id="hard", python_callable=lambda: False, mode="reschedule", poke_interval=60, timeout=600
        )
        PythonSensor(
            task_id="soft",
            python_callable=lambda: False,
            mode="reschedule",
            poke_interval=60,
            timeout=300,
            soft_fail=True,
        )
    result = run_dag(dag)
    assert result.task_states == {("hard", -1): "failed", ("soft", -1): "skipped"}
    assert type(result["hard"].error).__name__ == "AirflowSensorTimeout"
