"""Run-level behaviour of run_dag: DAG callbacks, earlier runs of the DAG in the store, the rendered map
index. tests/test_runlevel_differential.py compares the same things with dag.test()."""

from __future__ import annotations

import logging

import pytest
from airflow.sdk import DAG, task
from callables import fails_on

DAY_1, DAY_2, DAY_3 = "2024-01-01", "2024-01-02", "2024-01-03"


# -- DAG callbacks --------------------------------------------------------------------------------------


def test_the_success_callback_gets_the_last_task_to_succeed_and_the_reason(run_dag):
    seen = []
    with DAG("cb_ok", schedule=None, on_success_callback=lambda ctx: seen.append(ctx)) as dag:

        @task
        def first():
            return 1

        @task
        def second(x):
            return x

        second(first())

    result = run_dag(dag, logical_date=DAY_1)

    assert result.state == "success"
    (context,) = seen
    assert context["reason"] == "success"
    assert context["ti"].task_id == "second"
    assert context["ti"].xcom_pull(task_ids="first") == 1  # the callback talks to the test's store
    assert [(c.name, c.reason, c.task_id, c.error) for c in result.dag_callbacks] == [
        ("on_success_callback", "success", "second", None)
    ]


def test_a_raising_failure_callback_is_logged_and_the_next_one_still_runs(run_dag, caplog):
    seen = []

    def broken(context):
        raise RuntimeError("callback broke")

    with DAG("cb_fail", schedule=None, on_failure_callback=[broken, lambda ctx: seen.append(ctx)]) as dag:
        task(fails_on(1), task_id="boom")()

    with caplog.at_level(logging.ERROR, logger="airflow.models.dagrun.DagRun"):
        result = run_dag(dag, logical_date=DAY_1)

    assert result.state == "failed"
    assert [r.getMessage() for r in caplog.records if r.name == "airflow.models.dagrun.DagRun"] == [
        "Callback failed for cb_fail"
    ]
    assert isinstance(result.dag_callbacks[0].error, RuntimeError)
    assert seen[0]["reason"] == "task_failure"


def test_no_callback_for_an_outcome_the_dag_has_none_for(run_dag):
    with DAG("cb_none", schedule=None, on_failure_callback=lambda ctx: 1 / 0) as dag:
        task(lambda: 1, task_id="ok")()

    assert run_dag(dag, logical_date=DAY_1).dag_callbacks == []


# -- depends_on_past and wait_for_downstream ---------------------------------------------------------


def _past_dag(dag_id: str, **flaky_kwargs):
    with DAG(dag_id, schedule=None) as dag:
        flaky = task(fails_on(1), task_id="flaky", **flaky_kwargs)()
        after = task(lambda x: x, task_id="after")(flaky)
        task(lambda: "free", task_id="free")()
    return dag, after


def test_a_run_after_a_failed_depends_on_past_task_is_left_running_and_says_why(run_dag):
    dag, _ = _past_dag("held", depends_on_past=True)
    run_dag(dag, logical_date=DAY_1)

    second = run_dag(dag, logical_date=DAY_2)

    assert second.state == "running"
    assert second.task_states == {("after", -1): "none", ("flaky", -1): "none", ("free", -1): "success"}
    assert "1 previous task instance(s) are not in a successful state" in second.waiting[("flaky", -1)]
    assert "'flaky'" in second.waiting[("after", -1)]


def test_a_run_in_another_store_does_not_look_at_earlier_runs(run_dag):
    dag, _ = _past_dag("held_elsewhere", depends_on_past=True)
    run_dag(dag, logical_date=DAY_1)

    import pytest_xcom

    assert pytest_xcom.run_dag(dag, logical_date=DAY_2).state == "success"


def test_depends_on_past_looks_at_the_latest_earlier_run_only(run_dag):
    dag, _ = _past_dag("latest_only", depends_on_past=True)
    run_dag(dag, logical_date=DAY_2)  # fails nothing: flaky fails on day 1 only

    assert run_dag(dag, logical_date=DAY_1).state == "failed"  # no earlier run than day 1
    assert run_dag(dag, logical_date=DAY_3).state == "success"  # judged against day 2


def test_wait_for_downstream_holds_a_task_whose_previous_downstream_failed(run_dag):
    with DAG("w4d", schedule=None) as dag:
        head = task(lambda: 1, task_id="head", wait_for_downstream=True)()

        @task
        def fragile(x, **context):
            return fails_on(1)(**context)

        fragile(head)

    run_dag(dag, logical_date=DAY_1)
    second = run_dag(dag, logical_date=DAY_2)

    assert second.state == "running"
    assert "wait_for_downstream is True" in second.waiting[("head", -1)]


def test_ignore_first_depends_on_past_lets_a_new_task_run(run_dag):
    with DAG("first_past", schedule=None) as dag:
        task(lambda: 1, task_id="old")()
    run_dag(dag, logical_date=DAY_1)
    task(lambda: 2, task_id="new", depends_on_past=True, ignore_first_depends_on_past=True, dag=dag)()

    assert run_dag(dag, logical_date=DAY_2).task_states[("new", -1)] == "success"


def test_prev_success_values_come_from_the_earlier_successful_run(run_dag):
    with DAG("prev_success", schedule=None) as dag:

        @task
        def report(**context):
            return [str(context["prev_data_interval_start_success"]), str(context["prev_start_date_success"])]

        report()

    assert run_dag(dag, logical_date=DAY_1)["report"].return_value == ["None", "None"]
    second = run_dag(dag, logical_date=DAY_2)["report"].return_value

    assert second == ["2024-01-01 00:00:00+00:00", "2024-01-01 00:00:00+00:00"]


def test_include_prior_dates_pulls_every_run_up_to_this_one_oldest_first(run_dag):
    with DAG("prior", schedule=None) as dag:

        @task
        def each(x, **context):
            return context["logical_date"].day * 10 + x

        @task
        def collect(**context):
            ti = context["ti"]
            return ti.xcom_pull(task_ids="each", include_prior_dates=True)

        each.expand(x=[1, 2]) >> collect()

    run_dag(dag, logical_date=DAY_1)
    run_dag(dag, logical_date=DAY_2)
    later = run_dag(dag, logical_date=DAY_3)

    # By map index; a map index's values from several runs in the order they were written (SQLite's).
    assert later["collect"].return_value == [11, 21, 31, 12, 22, 32]
    assert later.xcoms[("collect", -1, "return_value")] == [11, 21, 31, 12, 22, 32]


def test_a_later_run_at_the_same_date_replaces_the_earlier_one_for_depends_on_past(run_dag):
    dag, _ = _past_dag("replaced", depends_on_past=True)
    run_dag(dag, logical_date=DAY_1)
    run_dag(dag, logical_date=DAY_2)  # held by day 1's failure
    # As dag.test(): a new run at day 2 replaces the held one; day 1 still holds it.
    again = run_dag(dag, logical_date=DAY_2)
    assert again.state == "running"
    # The replaced day-2 run is gone: day 3 is judged against the new (still held) one.
    assert "are not in a successful state" in run_dag(dag, logical_date=DAY_3).waiting[("flaky", -1)]


# -- rendered map index ---------------------------------------------------------------------------------


def test_rendered_map_index_is_the_index_the_template_or_none(run_dag):
    with DAG("named", schedule=None) as dag:
        task(lambda x: x, task_id="plain").expand(x=[5, 6])
        task(lambda x: x, task_id="named", map_index_template="n-{{ task.op_kwargs['x'] }}").expand(x=[7])
        task(lambda: 0, task_id="single")()

    tasks = run_dag(dag, logical_date=DAY_1).tasks

    assert {key: t.rendered_map_index for key, t in tasks.items()} == {
        ("plain", 0): "0",
        ("plain", 1): "1",
        ("named", 0): "n-7",
        ("single", -1): None,
    }


def test_run_task_reports_the_rendered_map_index_of_a_mapped_instance(run_task):
    with DAG("named_one", schedule=None):
        mapped = task(lambda x: x, task_id="m", map_index_template="v{{ task.op_kwargs['x'] }}").expand(
            x=[1, 2]
        )

    assert run_task(mapped, map_index=1).rendered_map_index == "v2"


@pytest.mark.parametrize("template", [None, "t"])
def test_an_unmapped_task_has_no_rendered_map_index_unless_templated(run_task, template):
    with DAG("unmapped_rmi", schedule=None):
        op = task(lambda: 1, task_id="u", map_index_template=template)()

    assert run_task(op).rendered_map_index == template


def test_a_task_asks_for_its_previous_run_and_task_instance(run_dag):
    with DAG("previous", schedule=None) as dag:

        @task
        def look(**context):
            ti = context["ti"]
            if not hasattr(ti, "get_previous_dagrun"):
                return "no get_previous_dagrun on Airflow 3.0"
            previous = ti.get_previous_dagrun()
            failed = ti.get_previous_dagrun(state="failed")
            seen = [str(previous.logical_date) if previous else None, failed]
            if hasattr(ti, "get_previous_ti"):  # Airflow 3.2+
                prev_ti = ti.get_previous_ti()
                seen += [prev_ti.state, str(prev_ti.logical_date)] if prev_ti else [None, None]
            return seen

        look()

    first = run_dag(dag, logical_date=DAY_1)["look"]
    second = run_dag(dag, logical_date=DAY_2)["look"]

    if first.return_value == "no get_previous_dagrun on Airflow 3.0":
        pytest.skip(first.return_value)
    assert first.return_value[:2] == [None, None]
    assert second.return_value[:2] == ["2024-01-01 00:00:00+00:00", None]
    if len(second.return_value) > 2:
        assert second.return_value[2:] == ["success", "2024-01-01 00:00:00+00:00"]
