"""Task contexts: Airflow's real template context, its dates and runs, and the classic-mistake hints."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, get_current_context
from freezegun import freeze_time

from pytest_xcom import InMemoryTaskInstance, _compat

# The keys airflow3-internals.md lists for Airflow 3.3, plus partition_date, which 3.3.2 also sets.
CONTEXT_KEYS = {
    # always
    "dag", "task", "ti", "task_instance", "run_id", "params", "var", "conn", "macros", "inlets", "outlets",
    "inlet_events", "outlet_events", "map_index_template", "task_state_store",
    # from the DagRun
    "dag_run", "task_instance_key_str", "task_reschedule_count", "triggering_asset_events", "partition_key",
    "partition_date", "prev_data_interval_start_success", "prev_data_interval_end_success",
    "prev_start_date_success", "prev_end_date_success",
    # with a logical date
    "logical_date", "ds", "ds_nodash", "ts", "ts_nodash", "ts_nodash_with_tz", "data_interval_start",
    "data_interval_end",
}  # fmt: skip
# Before 3.3, RuntimeTaskInstance.get_template_context() sets none of these.
NEW_IN_3_3 = {"task_state_store", "partition_key", "partition_date"}


def test_every_key_airflow_puts_into_the_context_is_there(task_context):
    ctx = task_context("t")

    expected = CONTEXT_KEYS if _compat.AIRFLOW_MINOR >= (3, 3) else CONTEXT_KEYS - NEW_IN_3_3
    assert set(ctx.keys()) == expected
    assert ctx["ti"] is ctx["task_instance"]
    assert isinstance(ctx["ti"], InMemoryTaskInstance)
    assert ctx["task"] is ctx["ti"].task and ctx["dag"] is ctx["task"].dag
    assert ctx["task_instance_key_str"] == f"test_dag__t__{ctx['ds_nodash']}"
    assert ctx["task_reschedule_count"] == 0


def test_lazy_context_values_resolve_without_a_server_behind_them(task_context):
    ctx = task_context("t")

    # These go through the comms channel when read; a test's run has no earlier successful run.
    assert ctx["prev_start_date_success"].__wrapped__ is None
    assert ctx["prev_data_interval_end_success"].__wrapped__ is None
    assert list(ctx["triggering_asset_events"]) == []


def test_contexts_of_one_test_share_the_store_and_the_run(task_context, xcom_store):
    upstream = task_context("upstream")
    downstream = task_context("downstream")

    assert downstream["run_id"] == upstream["run_id"]
    assert downstream["dag_run"].logical_date == upstream["dag_run"].logical_date
    assert downstream["dag"] is upstream["dag"]
    upstream["ti"].xcom_push("k", {"v": 1})
    assert downstream["ti"].xcom_pull(task_ids="upstream", key="k") == {"v": 1}
    assert xcom_store.get("upstream", key="k") == {"v": 1}


def test_a_task_id_used_twice_is_the_same_task(task_context):
    first = task_context("t", params={"a": 1})
    second = task_context("t", params={"a": 2})

    assert first["task"] is second["task"]
    assert second["params"]["a"] == 2


@pytest.mark.parametrize(
    "logical_date",
    [
        dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
        dt.datetime(2024, 5, 6, 9, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        pendulum.datetime(2024, 5, 6, 3, 8, 9, tz="America/New_York"),
        dt.datetime(2024, 5, 6, 7, 8, 9),  # naive means UTC (Airflow's default_timezone)
        "2024-05-06T07:08:09Z",
        "2024-05-06T09:08:09+02:00",
        "2024-05-06 07:08:09",
    ],
    ids=repr,
)
def test_logical_date_accepts_datetimes_and_iso_strings(task_context, logical_date):
    ctx = task_context("t", logical_date=logical_date)

    # The API server hands a worker its run's dates in UTC, whatever zone they were given in.
    assert ctx["logical_date"] == pendulum.datetime(2024, 5, 6, 7, 8, 9)
    assert ctx["logical_date"].utcoffset() == dt.timedelta(0)
    assert ctx["ds"] == "2024-05-06"
    assert ctx["ts"] == "2024-05-06T07:08:09+00:00"
    assert ctx["ts_nodash"] == "20240506T070809"


@pytest.mark.parametrize("logical_date", [dt.date(2024, 5, 6), "2024-05-06"], ids=repr)
def test_logical_date_accepts_a_date_meaning_midnight_utc(task_context, logical_date):
    ctx = task_context("t", logical_date=logical_date)

    assert ctx["logical_date"] == pendulum.datetime(2024, 5, 6)
    assert ctx["ts"] == "2024-05-06T00:00:00+00:00"


def test_a_non_utc_logical_date_gives_the_utc_ds(task_context):
    ctx = task_context("t", logical_date="2024-01-01T01:00:00+02:00")

    assert ctx["ds"] == "2023-12-31"
    assert ctx["ts"] == "2023-12-31T23:00:00+00:00"


def test_dates_follow_the_frozen_clock(task_context):
    with freeze_time("2024-03-10 08:15:30"):
        ctx = task_context("t")

    frozen = pendulum.datetime(2024, 3, 10, 8, 15, 30)
    assert ctx["logical_date"] == frozen
    assert ctx["dag_run"].run_after == frozen
    assert (ctx["data_interval_start"], ctx["data_interval_end"]) == (frozen, frozen)
    assert (ctx["ds"], ctx["ds_nodash"]) == ("2024-03-10", "20240310")
    assert (ctx["ts"], ctx["ts_nodash_with_tz"]) == ("2024-03-10T08:15:30+00:00", "20240310T081530+0000")
    assert ctx["run_id"] == "manual__2024-03-10T08:15:30+00:00"


def test_freezegun_as_a_decorator_with_an_aware_time(task_context):
    @freeze_time(dt.datetime(2024, 3, 10, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    def build():
        return task_context("t")

    assert build()["ts"] == "2024-03-10T08:00:00+00:00"


def test_run_id_is_airflows_manual_run_id(task_context):
    from airflow.models.dagrun import DagRun
    from airflow.utils.types import DagRunType

    with freeze_time("2024-01-02 03:04:05.678901"):
        ctx = task_context("t", logical_date="2023-06-01")

    assert ctx["run_id"] == "manual__2024-01-02T03:04:05.678901+00:00"
    expected = DagRun.generate_run_id(
        run_type=DagRunType.MANUAL, logical_date=ctx["logical_date"], run_after=ctx["dag_run"].run_after
    )
    assert ctx["run_id"] == expected
    assert ctx["dag_run"].run_type == "manual"


def test_run_id_and_run_after_can_be_given(task_context):
    ctx = task_context("t", run_id="backfill_2024", logical_date="2024-01-01", run_after="2024-02-01")

    assert ctx["run_id"] == "backfill_2024"
    assert ctx["dag_run"].run_after == pendulum.datetime(2024, 2, 1)
    assert ctx["logical_date"] == pendulum.datetime(2024, 1, 1)


def test_runs_at_different_dates_under_a_frozen_clock_must_be_told_apart(task_context):
    with freeze_time("2024-06-01"):
        task_context("t", logical_date="2024-01-01")
        # Airflow refuses a second run with the same run_id; so does task_context, saying what to pass.
        with pytest.raises(ValueError, match=r"already.*run_id.*run_after="):
            task_context("t", logical_date="2024-01-02")
        other = task_context("t", logical_date="2024-01-02", run_after="2024-01-02")

    assert other["run_id"] == "manual__2024-01-02T00:00:00+00:00"


@pytest.fixture
def cron_dags():
    with DAG("cron_trigger", schedule="0 6 * * *", start_date=pendulum.datetime(2024, 1, 1)) as trigger_dag:
        PythonOperator(task_id="t", python_callable=print)
    with DAG(
        "cron_interval",
        schedule=_compat.CronDataIntervalTimetable("0 6 * * *", timezone="UTC"),
        start_date=pendulum.datetime(2024, 1, 1),
    ) as interval_dag:
        PythonOperator(task_id="t", python_callable=print)
    return trigger_dag, interval_dag


def test_a_cron_dags_data_interval_is_what_its_timetable_infers(task_context, cron_dags):
    from airflow.timetables.interval import CronDataIntervalTimetable as CoreCronDataInterval
    from airflow.timetables.trigger import CronTriggerTimetable as CoreCronTrigger

    trigger_dag, interval_dag = cron_dags
    when = pendulum.datetime(2024, 5, 5, 12)

    trigger_ctx = task_context("t", dag=trigger_dag, logical_date=when)
    interval_ctx = task_context("t", dag=interval_dag, logical_date=when)

    # A cron string is a CronTriggerTimetable in Airflow 3: a manual run's interval is just its date.
    expected = CoreCronTrigger("0 6 * * *", timezone="UTC").infer_manual_data_interval(run_after=when)
    assert (trigger_ctx["data_interval_start"], trigger_ctx["data_interval_end"]) == (when, when)
    assert (expected.start, expected.end) == (when, when)
    # A data-interval timetable gives the last complete interval before the date.
    expected = CoreCronDataInterval("0 6 * * *", timezone="UTC").infer_manual_data_interval(run_after=when)
    interval = (interval_ctx["data_interval_start"], interval_ctx["data_interval_end"])
    assert interval == (pendulum.datetime(2024, 5, 4, 6), pendulum.datetime(2024, 5, 5, 6))
    assert interval == (expected.start, expected.end)
    assert interval_ctx["dag_run"].data_interval_start == interval[0]


def test_a_cron_dags_data_interval_follows_the_frozen_clock(task_context, cron_dags):
    _, interval_dag = cron_dags

    with freeze_time("2024-05-05 05:59:59"):
        ctx = task_context("t", dag=interval_dag)

    assert (ctx["data_interval_start"], ctx["data_interval_end"]) == (
        pendulum.datetime(2024, 5, 3, 6),
        pendulum.datetime(2024, 5, 4, 6),
    )


def test_get_current_context_returns_the_latest_context(task_context):
    first = task_context("first")
    assert get_current_context()["ti"] is first["ti"]

    second = task_context("second")

    assert get_current_context()["ti"] is second["ti"]
    assert get_current_context()["ti"].task_id == "second"


def test_a_dags_own_task_and_an_unknown_task_id(task_context):
    with DAG("mine", schedule=None) as dag:
        op = PythonOperator(task_id="extract", python_callable=print)

    assert task_context("extract", dag=dag)["task"] is op
    assert task_context(task=op)["dag"].dag_id == "mine"
    with pytest.raises(KeyError, match=r"DAG 'mine' has no task 'extrct' \(did you mean 'extract'\?\)"):
        task_context("extrct", dag=dag)


def test_map_index_and_try_number_reach_the_task_instance(task_context):
    ti = task_context("t", map_index=4, try_number=3)["ti"]

    assert (ti.map_index, ti.try_number) == (4, 3)


def test_ti_context_says_where_the_context_is(task_context):
    ti = task_context("t")["ti"]

    with pytest.raises(AttributeError, match=r"has no attribute 'context'.*get_current_context\(\)"):
        ti.context["ds"]


def test_ti_params_says_where_params_are(task_context):
    ti = task_context("t", params={"a": 1})["ti"]

    with pytest.raises(
        AttributeError, match=r"has no attribute 'params'.*context\['params'\].*ti.task.params"
    ):
        ti.params["a"]
    assert ti.task.params["a"] == 1


def test_other_missing_attributes_fail_as_usual(task_context):
    ti = task_context("t")["ti"]

    with pytest.raises(AttributeError) as failure:
        ti.no_such_thing  # noqa: B018
    assert "no_such_thing" in str(failure.value)
    assert "template context" not in str(failure.value)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fixture", "body"),
    [
        ("task_context", 'assert task_context("t")["ds"] == "2024-01-01"'),
        ("xcom_store", 'xcom_store.seed("t", {"a": 1}); assert xcom_store.get("t") == {"a": 1}'),
    ],
    ids=["task_context", "xcom_store"],
)
def test_the_first_use_of_airflow_may_be_under_a_frozen_clock(pytester, fixture, body):
    # Airflow's pydantic models built while freezegun has replaced datetime would fail: the fixtures
    # import Airflow in their setup. A fresh process, so that this really is the first use.
    pytester.makepyfile(
        f"""
        from freezegun import freeze_time

        def test_frozen({fixture}):
            with freeze_time("2024-01-01"):
                {body}
        """
    )

    result = pytester.runpytest_subprocess("-p", "pytest_xcom")

    result.assert_outcomes(passed=1)
