"""Deferrals and rescheduled sensors finish without waiting: their waits move the run's clock.

Under freezegun a wait would never end; without it, it would take real time. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import textwrap
from datetime import UTC, datetime, timedelta

import pytest
from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import DAG, BaseOperator, task
from airflow.triggers.base import BaseTrigger, TriggerEvent
from dagfiles import load_dags
from freezegun import freeze_time

import pytest_xcom
from pytest_xcom._compat import AirflowSensorTimeout, TaskDeferralError, TaskDeferralTimeout
from pytest_xcom._dagtest import run_dag_test
from pytest_xcom.triggerer import TriggerWaitError

FROZEN_AT = datetime(2024, 1, 1, tzinfo=UTC)


class NeverFires(BaseTrigger):
    """Polls a condition that never comes true."""

    def serialize(self):
        return (f"{__name__}.NeverFires", {})

    async def run(self):
        while True:
            await asyncio.sleep(3600)
        yield TriggerEvent("unreachable")


class Breaks(BaseTrigger):
    def serialize(self):
        return (f"{__name__}.Breaks", {})

    async def run(self):
        await asyncio.sleep(5)
        raise RuntimeError("the service is down")
        yield TriggerEvent("unreachable")


class Defers(BaseOperator):
    def __init__(self, *, trigger_factory, timeout=None, **kwargs):
        super().__init__(**kwargs)
        self.trigger_factory = trigger_factory
        self.defer_timeout = timeout

    def execute(self, context):
        self.defer(trigger=self.trigger_factory(), method_name="resumed", timeout=self.defer_timeout)

    def resumed(self, context, event=None):
        return {"event": str(event), "now": str(datetime.now(UTC))}


def _one_task_dag(dag_id: str, op_factory) -> DAG:
    with DAG(dag_id, schedule=None) as dag:
        op_factory()
    return dag


# -- deferrals ----------------------------------------------------------------------------------------


def test_a_time_delta_trigger_fires_under_a_frozen_clock_by_moving_it():
    dag = _one_task_dag(
        "time_delta_frozen",
        lambda: Defers(task_id="wait", trigger_factory=lambda: TimeDeltaTrigger(timedelta(hours=2))),
    )
    with freeze_time(FROZEN_AT):
        result = pytest_xcom.run_dag(dag, logical_date=FROZEN_AT)
        moved_to = datetime.now(UTC)
    assert result.state == "success", result["wait"].error
    assert result["wait"].return_value == {
        "event": "2024-01-01 02:00:00+00:00",
        "now": "2024-01-01 02:00:00+00:00",
    }
    assert moved_to == FROZEN_AT + timedelta(hours=2)


def test_a_date_time_sensor_async_fires_without_waiting():
    with DAG("date_time_async", schedule=None) as dag:
        DateTimeSensorAsync(task_id="until", target_time="{{ logical_date + macros.timedelta(days=3) }}")
    with freeze_time(FROZEN_AT):
        result = pytest_xcom.run_dag(dag, logical_date=FROZEN_AT)
        moved_to = datetime.now(UTC)
    assert result.task_states == {("until", -1): "success"}
    assert moved_to == FROZEN_AT + timedelta(days=3)


def test_without_a_frozen_clock_a_long_trigger_fires_at_once():
    dag = _one_task_dag(
        "time_delta_wall",
        lambda: Defers(task_id="wait", trigger_factory=lambda: TimeDeltaTrigger(timedelta(days=30))),
    )
    result = pytest_xcom.run_dag(dag)
    assert result.state == "success", result["wait"].error
    # The trigger saw the run's clock reach its moment; the test's wall clock did not move.
    moment = datetime.fromisoformat(result["wait"].return_value["event"])
    assert moment >= datetime.now(UTC) + timedelta(days=29)


def test_a_trigger_reaching_its_timeout_fails_the_task_as_airflow_does():
    dag = _one_task_dag(
        "deferral_timeout",
        lambda: Defers(task_id="wait", trigger_factory=NeverFires, timeout=timedelta(minutes=10)),
    )
    with freeze_time(FROZEN_AT):
        result = pytest_xcom.run_dag(dag)
        moved_to = datetime.now(UTC)
    assert result.task_states == {("wait", -1): "failed"}
    assert isinstance(result["wait"].error, TaskDeferralTimeout)
    assert moved_to == FROZEN_AT + timedelta(minutes=10)


def test_a_trigger_that_raises_fails_the_task_as_airflow_does():
    dag = _one_task_dag("deferral_error", lambda: Defers(task_id="wait", trigger_factory=Breaks))
    result = pytest_xcom.run_dag(dag)
    assert result.task_states == {("wait", -1): "failed"}
    assert isinstance(result["wait"].error, TaskDeferralError)


def test_a_trigger_that_never_fires_without_a_timeout_is_an_error_not_a_hang():
    dag = _one_task_dag("deferral_forever", lambda: Defers(task_id="wait", trigger_factory=NeverFires))
    with freeze_time(FROZEN_AT), pytest.raises(TriggerWaitError, match="NeverFires gave no event within"):
        pytest_xcom.run_dag(dag)


# -- reschedule-mode sensors --------------------------------------------------------------------------


def _reschedule_sensor(dag_id: str, condition, **kwargs) -> DAG:
    with DAG(dag_id, schedule=None) as dag:
        sensor = PythonSensor(task_id="sense", python_callable=condition, mode="reschedule", **kwargs)

        @task
        def after() -> str:
            return "ran"

        sensor >> after()
    return dag


def test_a_reschedule_sensor_pokes_again_with_the_clock_moved_by_its_poke_interval():
    pokes: list[tuple[int, datetime]] = []

    def third_poke(**context) -> bool:
        pokes.append((context["task_reschedule_count"], datetime.now(UTC)))
        return len(pokes) == 3

    dag = _reschedule_sensor("reschedule_succeeds", third_poke, poke_interval=300)
    with freeze_time(FROZEN_AT):
        result = pytest_xcom.run_dag(dag)
    assert result.state == "success", result.task_states
    assert result.task_states == {("sense", -1): "success", ("after", -1): "success"}
    assert pokes == [(n, FROZEN_AT + timedelta(seconds=300 * n)) for n in range(3)]
    assert result["sense"].try_number == 1  # a reschedule is not a retry


def test_a_reschedule_sensor_times_out_on_the_runs_clock():
    pokes: list[datetime] = []

    def never(**context) -> bool:
        pokes.append(datetime.now(UTC))
        return False

    dag = _reschedule_sensor("reschedule_times_out", never, poke_interval=600, timeout=3600)
    with freeze_time(FROZEN_AT):
        result = pytest_xcom.run_dag(dag)
    assert result.state == "failed"
    assert result.task_states == {("sense", -1): "failed", ("after", -1): "upstream_failed"}
    assert isinstance(result["sense"].error, AirflowSensorTimeout)
    # Pokes at 0, 10, ..., 70 minutes: the sensor pokes, then finds its hour passed.
    assert pokes == [FROZEN_AT + timedelta(minutes=10 * n) for n in range(8)]


def test_run_task_reports_one_attempt_of_a_reschedule_sensor(run_task):
    dag = _reschedule_sensor("reschedule_one_attempt", lambda: False, poke_interval=60)
    result = run_task(dag.get_task("sense"))
    assert result.state == "up_for_reschedule"


# -- the same DAGs through dag.test() -----------------------------------------------------------------

RESCHEDULE_DAGS = """
    from datetime import datetime

    from airflow.providers.standard.sensors.python import PythonSensor
    from airflow.sdk import DAG, task


    def third_poke(**context):
        return context["task_reschedule_count"] >= 2


    with DAG("reschedule_until_true", schedule=None, start_date=datetime(2024, 1, 1)):
        sensor = PythonSensor(task_id="wait", python_callable=third_poke, mode="reschedule", poke_interval=1)

        @task
        def after(**context):
            return f"after {context['task_reschedule_count']} reschedules"

        sensor >> after()

    with DAG("reschedule_times_out", schedule=None, start_date=datetime(2024, 1, 1)):
        never = PythonSensor(
            task_id="wait", python_callable=lambda: False, mode="reschedule", poke_interval=1, timeout=2
        )

        @task
        def after_timeout():
            return "not run"

        never >> after_timeout()
"""


@pytest.mark.slow
@pytest.mark.parametrize("dag_id", ["reschedule_until_true", "reschedule_times_out"])
def test_reschedule_sensors_end_as_in_dag_test(tmp_path, dag_id):
    path = tmp_path / "reschedule_dags.py"
    path.write_text(textwrap.dedent(RESCHEDULE_DAGS))
    real = run_dag_test(path, dag_id, logical_date=FROZEN_AT)
    ours = pytest_xcom.run_dag(load_dags(path)[dag_id], logical_date=FROZEN_AT)
    assert ours.task_states == real.task_states
    assert ours.state == real.state
    assert ours.xcoms == real.xcoms
