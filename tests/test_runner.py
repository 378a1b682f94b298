"""run_task and run_dag: Airflow's task runner in-process, with the scheduler's part done in memory."""

from __future__ import annotations

import os
import signal

import pytest
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import (
    BranchPythonOperator,
    PythonOperator,
    ShortCircuitOperator,
)
from airflow.sdk import DAG, BaseOperator, Param, Variable, task, task_group
from airflow.sdk.exceptions import AirflowRuntimeError

import pytest_xcom
from pytest_xcom import _compat
from pytest_xcom._compat import ParamValidationError


def _fail() -> None:
    raise ValueError("boom")


# -- run_task -------------------------------------------------------------------------------------------


def test_run_task_renders_templates_from_context_params_and_upstream_xcoms(run_task, xcom_store):
    xcom_store.seed("extract", {"rows": 3})
    with DAG("templated", schedule=None, params={"table": Param("orders", type="string")}):
        op = PythonOperator(
            task_id="load",
            python_callable=lambda day, table, rows: f"{day}:{table}:{rows}",
            op_kwargs={
                "day": "{{ ds }}",
                "table": "{{ params.table }}",
                "rows": "{{ ti.xcom_pull(task_ids='extract')['rows'] }}",
            },
        )
    result = run_task(op, logical_date="2024-02-03")
    assert result.state == "success", result.error
    assert result.return_value == "2024-02-03:orders:3"
    assert result.xcoms == {"return_value": "2024-02-03:orders:3"}


def test_run_task_bash_operator_pushes_its_last_line(run_task):
    op = BashOperator(task_id="echo", bash_command="echo first; echo '{{ ds_nodash }}'")
    result = run_task(op, logical_date="2024-05-06T10:00:00+00:00")
    assert result.state == "success", result.error
    assert result.return_value == "20240506"


def test_run_task_resolves_taskflow_xcomargs_from_seeded_upstream(run_task, xcom_store):
    with DAG("taskflow", schedule=None):

        @task
        def extract() -> dict:
            raise AssertionError("not run: its value is seeded")

        @task
        def total(order: dict) -> float:
            return sum(order.values())

        called = total(extract())
    xcom_store.seed("extract", {"a": 1.5, "b": 2})
    result = run_task(called)
    assert (result.state, result.return_value) == ("success", 3.5)


def test_run_task_multiple_outputs_pushes_each_key_then_the_whole_dict(run_task):
    with DAG("multi", schedule=None):

        @task(multiple_outputs=True)
        def split() -> dict:
            return {"left": 1, "right": [2]}

        called = split()
    result = run_task(called)
    assert result.xcoms == {"left": 1, "right": [2], "return_value": {"left": 1, "right": [2]}}


def test_run_task_keeps_the_exception_of_a_failing_task(run_task):
    result = run_task(PythonOperator(task_id="boom", python_callable=_fail))
    assert result.state == "failed"
    assert isinstance(result.error, ValueError)
    assert str(result.error) == "boom"


def test_run_task_fails_a_task_whose_return_value_airflow_cannot_serialize(run_task):
    result = run_task(PythonOperator(task_id="raw", python_callable=lambda: b"bytes"))
    assert result.state == "failed"
    with pytest.raises(TypeError) as serde_refusal:  # serde's own words, which differ between versions
        _compat.serialize(b"bytes")
    assert isinstance(result.error, TypeError)
    assert str(result.error) == str(serde_refusal.value)


def test_run_task_reports_up_for_retry_while_retries_remain(run_task):
    op = PythonOperator(task_id="flaky", python_callable=_fail, retries=1)
    assert run_task(op).state == "up_for_retry"
    assert run_task(op, try_number=2).state == "failed"


def test_run_task_fails_on_invalid_params_as_the_worker_does(run_task):
    with DAG("strict", schedule=None, params={"n": Param(1, type="integer")}):
        op = PythonOperator(task_id="t", python_callable=lambda: None)
    result = run_task(op, conf={"n": "x"})
    assert result.state == "failed"
    assert isinstance(result.error, ParamValidationError)
    assert "n" in str(result.error)


def test_run_task_reads_variables_and_connections_through_airflows_accessors(run_task):
    def use(**context):
        conn = _compat.BaseHook.get_connection("warehouse")
        return [Variable.get("env"), Variable.get("cfg", deserialize_json=True), conn.host, conn.port]

    result = run_task(
        PythonOperator(task_id="use", python_callable=use),
        variables={"env": "prod", "cfg": {"k": 1}},
        connections={"warehouse": "postgres://u:p@db.example:5432/dw"},
    )
    assert result.state == "success", result.error
    assert result.return_value == ["prod", {"k": 1}, "db.example", 5432]


def test_a_missing_variable_fails_the_task_as_in_airflow(run_task):
    result = run_task(PythonOperator(task_id="use", python_callable=lambda: Variable.get("nope")))
    assert result.state == "failed"
    assert "nope" in str(result.error)


def test_run_task_restores_environ_and_the_sigterm_handler(run_task):
    before_env, before_handler = dict(os.environ), signal.getsignal(signal.SIGTERM)
    result = run_task(PythonOperator(task_id="t", python_callable=lambda: os.environ["AIRFLOW_CTX_TASK_ID"]))
    assert result.return_value == "t"
    assert dict(os.environ) == before_env
    assert signal.getsignal(signal.SIGTERM) == before_handler


def test_run_task_refuses_an_uncalled_taskflow_function(run_task):
    @task
    def f():
        return 1

    with pytest.raises(TypeError, match="call it"):
        run_task(f)


# -- run_dag --------------------------------------------------------------------------------------------


def _dag_with_rules(upstream_outcomes: dict[str, str], rule: str) -> DAG:
    """Upstreams that succeed, fail or skip, and one downstream with ``rule``."""
    AirflowSkipException = _compat.AirflowSkipException

    def outcome(kind: str):
        def run():
            if kind == "fail":
                raise ValueError(kind)
            if kind == "skip":
                raise AirflowSkipException(kind)
            return kind

        return run

    with DAG(f"rules_{rule}", schedule=None) as dag:
        down = EmptyOperator(task_id="down", trigger_rule=rule)
        for task_id, kind in upstream_outcomes.items():
            PythonOperator(task_id=task_id, python_callable=outcome(kind)) >> down
    return dag


@pytest.mark.parametrize(
    ("rule", "outcomes", "expected"),
    [
        ("all_success", {"a": "ok", "b": "ok"}, "success"),
        ("all_success", {"a": "ok", "b": "fail"}, "upstream_failed"),
        ("all_success", {"a": "ok", "b": "skip"}, "skipped"),
        ("all_done", {"a": "fail", "b": "skip"}, "success"),
        ("all_failed", {"a": "fail", "b": "fail"}, "success"),
        ("all_failed", {"a": "fail", "b": "ok"}, "skipped"),
        ("one_failed", {"a": "ok", "b": "fail"}, "success"),
        ("one_failed", {"a": "ok", "b": "ok"}, "skipped"),
        ("one_success", {"a": "fail", "b": "ok"}, "success"),
        ("one_success", {"a": "fail", "b": "fail"}, "upstream_failed"),
        ("one_success", {"a": "skip", "b": "skip"}, "skipped"),
        ("none_failed", {"a": "skip", "b": "ok"}, "success"),
        ("none_failed", {"a": "fail", "b": "ok"}, "upstream_failed"),
        ("none_failed_min_one_success", {"a": "skip", "b": "ok"}, "success"),
        ("none_failed_min_one_success", {"a": "skip", "b": "skip"}, "skipped"),
        ("none_skipped", {"a": "fail", "b": "ok"}, "success"),
        ("none_skipped", {"a": "skip", "b": "ok"}, "skipped"),
        ("all_skipped", {"a": "skip", "b": "skip"}, "success"),
        ("all_skipped", {"a": "skip", "b": "ok"}, "skipped"),
        ("always", {"a": "fail", "b": "fail"}, "success"),
    ],
)
def test_trigger_rules(run_dag, rule, outcomes, expected):
    result = run_dag(_dag_with_rules(outcomes, rule))
    assert result.task_states[("down", -1)] == expected


def test_failure_propagates_upstream_failed_and_fails_the_run(run_dag):
    with DAG("chain", schedule=None) as dag:
        (
            PythonOperator(task_id="a", python_callable=_fail)
            >> EmptyOperator(task_id="b")
            >> EmptyOperator(task_id="c")
        )
    result = run_dag(dag)
    assert result.state == "failed"
    assert result.task_states == {
        ("a", -1): "failed",
        ("b", -1): "upstream_failed",
        ("c", -1): "upstream_failed",
    }
    assert isinstance(result["a"].error, ValueError)


def test_branching_skips_the_branches_not_taken(run_dag):
    with DAG("branch", schedule=None) as dag:
        branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "left")
        left, right = EmptyOperator(task_id="left"), EmptyOperator(task_id="right")
        after_right = EmptyOperator(task_id="after_right")
        join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
        branch >> [left, right]
        right >> after_right
        [left, after_right] >> join
    result = run_dag(dag)
    assert result.state == "success"
    assert result.task_states[("right", -1)] == "skipped"
    assert result.task_states[("after_right", -1)] == "skipped"
    assert result.task_states[("join", -1)] == "success"


def test_short_circuit_skips_everything_downstream(run_dag):
    with DAG("short", schedule=None) as dag:
        (
            ShortCircuitOperator(task_id="gate", python_callable=lambda: False)
            >> EmptyOperator(task_id="a")
            >> EmptyOperator(task_id="b")
        )
    result = run_dag(dag)
    assert result.task_states == {("gate", -1): "success", ("a", -1): "skipped", ("b", -1): "skipped"}
    assert result.state == "success"


def test_retries_rerun_a_task_until_it_succeeds(run_dag):
    with DAG("retry", schedule=None) as dag:

        @task(retries=2)
        def flaky(ti=None):
            if ti.try_number < 3:
                raise ValueError(f"try {ti.try_number}")
            return ti.try_number

        flaky()
    result = run_dag(dag)
    assert result.task_states[("flaky", -1)] == "success"
    assert result.xcoms[("flaky", -1, "return_value")] == 3
    assert result["flaky"].try_number == 3


def test_dynamic_task_mapping_expand_partial_and_reduce(run_dag):
    with DAG("mapping", schedule=None) as dag:

        @task
        def numbers():
            return [1, 2, 3]

        @task
        def scale(x, factor):
            return x * factor

        @task
        def total(values):
            return sum(values)

        total(scale.partial(factor=10).expand(x=numbers()))
    result = run_dag(dag)
    assert [result.task_states[("scale", i)] for i in range(3)] == ["success"] * 3
    assert [result.xcoms[("scale", i, "return_value")] for i in range(3)] == [10, 20, 30]
    assert result.xcoms[("total", -1, "return_value")] == 60


def test_expand_kwargs_and_literal_cross_product(run_dag):
    with DAG("kwargs", schedule=None) as dag:

        @task
        def pairs():
            return [{"a": 1, "b": 2}, {"a": 3, "b": 4}]

        @task
        def add(a, b):
            return a + b

        @task
        def mul(x, y):
            return x * y

        add.expand_kwargs(pairs())
        mul.expand(x=[1, 2], y=[10, 100])
    result = run_dag(dag)
    assert [result.xcoms[("add", i, "return_value")] for i in range(2)] == [3, 7]
    assert sorted(result.xcoms[("mul", i, "return_value")] for i in range(4)) == [10, 20, 100, 200]


def test_zero_length_expansion_skips_the_mapped_task(run_dag):
    with DAG("empty", schedule=None) as dag:

        @task
        def nothing():
            return []

        @task
        def each(x):
            return x

        @task(trigger_rule="all_done")
        def after(values):
            return list(values)

        after(each.expand(x=nothing()))
    result = run_dag(dag)
    assert result.task_states[("each", -1)] == "skipped"


def test_mapped_task_group_pairs_instances_by_map_index(run_dag):
    with DAG("group", schedule=None) as dag:

        @task
        def plus_one(x):
            return x + 1

        @task
        def times_two(x):
            return x * 2

        @task_group
        def pipeline(x):
            return times_two(plus_one(x))

        @task
        def collect(values):
            return sorted(values)

        collect(pipeline.expand(x=[1, 2, 3]))
    result = run_dag(dag)
    assert result.state == "success"
    assert [result.xcoms[("pipeline.times_two", i, "return_value")] for i in range(3)] == [4, 6, 8]
    assert result.xcoms[("collect", -1, "return_value")] == [4, 6, 8]


def test_setup_and_teardown_run_around_the_work_even_when_it_fails(run_dag):
    with DAG("setup_teardown", schedule=None) as dag:
        create = EmptyOperator(task_id="create")
        work = PythonOperator(task_id="work", python_callable=_fail)
        delete = EmptyOperator(task_id="delete")
        create >> work >> delete.as_teardown(setups=create)
    result = run_dag(dag)
    assert result.task_states == {
        ("create", -1): "success",
        ("work", -1): "failed",
        ("delete", -1): "success",
    }
    assert result.state == "failed"


def test_run_dag_returns_the_manual_run_identity(run_dag):
    with DAG("ident", schedule="@daily") as dag:
        EmptyOperator(task_id="t")
    result = run_dag(dag, logical_date="2024-01-02")
    assert result.run_id.startswith("manual__")
    assert result.logical_date.isoformat() == "2024-01-02T00:00:00+00:00"


def test_run_dag_xcoms_land_in_the_tests_store(run_dag, xcom_store):
    with DAG("store", schedule=None) as dag:
        PythonOperator(task_id="t", python_callable=lambda: 7)
    result = run_dag(dag)
    xcom_store.assert_pushed("t", value=7, dag_id="store", run_id=result.run_id)


def test_module_level_run_dag_uses_its_own_store():
    with DAG("script", schedule=None) as dag:
        PythonOperator(task_id="t", python_callable=lambda: [1, (2, 3)])
    result = pytest_xcom.run_dag(dag)
    assert result.xcoms == {("t", -1, "return_value"): [1, (2, 3)]}
    assert result.store.get("t", dag_id="script", run_id=result.run_id) == [1, (2, 3)]


def test_a_task_pulling_an_unpushed_key_gets_none_and_the_run_goes_on(run_dag):
    with DAG("miss", schedule=None) as dag:
        push = PythonOperator(task_id="push", python_callable=lambda ti: ti.xcom_push("key", 1))
        pull = PythonOperator(
            task_id="pull", python_callable=lambda ti: ti.xcom_pull(task_ids="push", key="kye")
        )
        push >> pull
    result = run_dag(dag)
    assert result.task_states[("pull", -1)] == "success"
    assert ("pull", -1, "return_value") not in result.xcoms
    assert any("did you mean 'key'" in miss for miss in result.store.misses)


def test_comms_channel_reports_unsupported_messages_as_airflow_errors(xcom_comms, monkeypatch):
    from airflow.sdk.execution_time import comms

    # Every message of the supported Airflows is served: one a later Airflow adds is unserved like this.
    monkeypatch.delitem(type(xcom_comms)._HANDLERS, "GetDRCount")
    with pytest.raises(AirflowRuntimeError, match="does not answer GetDRCount"):
        xcom_comms.send(comms.GetDRCount(dag_id="d"))


def test_datetimes_made_under_a_frozen_clock_travel_as_real_datetimes(run_task, task_context, xcom_store):
    import datetime

    from freezegun import freeze_time
    from freezegun.api import real_datetime

    with freeze_time("2024-07-01 08:00:00"):
        result = run_task(
            PythonOperator(task_id="now", python_callable=lambda: datetime.datetime.now(datetime.UTC))
        )
        task_context("push")["ti"].xcom_push("today", datetime.date.today())
    assert result.state == "success", result.error
    assert result.return_value == real_datetime(2024, 7, 1, 8, tzinfo=datetime.UTC)
    assert xcom_store.get("push", key="today") == datetime.date(2024, 7, 1)


class _WaitThenReport(BaseOperator):
    """Defers on a trigger that fires at once, then returns what it resumed with.

    As in dag.test(), the trigger's event replaces the deferral's kwargs.
    """

    def execute(self, context):
        from airflow.providers.standard.triggers.temporal import DateTimeTrigger

        trigger = DateTimeTrigger(moment=_compat.timezone.utcnow())
        self.defer(trigger=trigger, method_name="resume", kwargs={"n": 1})

    def resume(self, context, event=None, n=None):
        return {"fired": event is not None, "n": n}


def test_run_dag_runs_a_deferred_tasks_trigger_and_resumes_it(run_dag):
    with DAG("deferring", schedule=None) as dag:
        _WaitThenReport(task_id="wait") >> EmptyOperator(task_id="after")
    result = run_dag(dag)
    assert result.task_states == {("wait", -1): "success", ("after", -1): "success"}
    assert result.xcoms[("wait", -1, "return_value")] == {"fired": True, "n": None}


def test_run_task_leaves_a_deferring_task_deferred(run_task):
    assert run_task(_WaitThenReport(task_id="wait")).state == "deferred"


def test_secrets_a_task_masks_are_forgotten_after_the_run():
    redact = _compat.secrets_masker().redact

    def use():
        return _compat.BaseHook.get_connection("db").password == "s3cret-password"

    result = pytest_xcom.run_task(
        PythonOperator(task_id="use", python_callable=use),
        connections={"db": {"conn_type": "postgres", "password": "s3cret-password"}},
    )
    assert result.return_value is True
    assert redact("s3cret-password") == "s3cret-password"
