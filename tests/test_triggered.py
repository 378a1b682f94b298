"""Triggered DAG runs: recorded, followed with dags=[...], waited on, scheduled by asset conditions."""

from __future__ import annotations

import pytest
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, Asset, AssetAlias, task
from airflow.sdk.exceptions import AirflowRuntimeError

from pytest_xcom import TriggeredRun
from pytest_xcom.runner.following import MAX_DEPTH, FollowError

A = Asset(name="a", uri="s3://x/a")
B = Asset(name="b", uri="s3://x/b")


def _target(dag_id: str = "target", fail: bool = False) -> DAG:
    with DAG(dag_id, schedule=None) as dag:

        @task
        def show(*, dag_run=None):
            if fail:
                raise ValueError("target failed")
            return dag_run.conf

        show()
    return dag


def _controller(**trigger_kwargs) -> DAG:
    with DAG("controller", schedule=None) as dag:
        TriggerDagRunOperator(task_id="trigger", trigger_dag_id="target", conf={"n": 1}, **trigger_kwargs)
    return dag


def _emitter(dag_id: str, *assets: Asset) -> DAG:
    with DAG(dag_id, schedule=None) as dag:
        for asset in assets:
            task(lambda: None, task_id=f"emit_{asset.name}", outlets=[asset])()
    return dag


def _consumer(dag_id: str, schedule) -> DAG:
    with DAG(dag_id, schedule=schedule) as dag:

        @task
        def read(*, triggering_asset_events=None):
            return sorted(uri if isinstance(uri, str) else uri.uri for uri in triggering_asset_events)

        read()
    return dag


def test_a_trigger_is_recorded_without_running_the_target(run_dag):
    result = run_dag(_controller())
    assert result.state == "success"
    [run] = result.triggered_runs
    assert isinstance(run, TriggeredRun)
    assert (run.dag_id, run.conf, run.triggered_by, run.result, run.state) == (
        "target",
        {"n": 1},
        "trigger",
        None,
        "queued",
    )
    assert result.xcoms[("trigger", -1, "trigger_run_id")] == run.run_id


def test_a_followed_trigger_runs_the_target_with_its_conf(run_dag):
    result = run_dag(_controller(), dags=[_target()])
    [run] = result.triggered_runs
    assert run.result.state == "success"
    assert run.result["show"].return_value == {"n": 1}
    assert run.result.run_id == run.run_id


def test_triggering_the_same_run_id_twice_fails_the_second_trigger(run_dag):
    with DAG("twice", schedule=None) as dag:
        first = TriggerDagRunOperator(task_id="first", trigger_dag_id="target", trigger_run_id="fixed")
        second = TriggerDagRunOperator(task_id="second", trigger_dag_id="target", trigger_run_id="fixed")
        first >> second
    result = run_dag(dag)
    assert result.task_states == {("first", -1): "success", ("second", -1): "failed"}


def test_skip_when_already_exists_skips_the_second_trigger(run_dag):
    with DAG("twice_skip", schedule=None) as dag:
        first = TriggerDagRunOperator(task_id="first", trigger_dag_id="target", trigger_run_id="fixed")
        second = TriggerDagRunOperator(
            task_id="second", trigger_dag_id="target", trigger_run_id="fixed", skip_when_already_exists=True
        )
        first >> second
    assert run_dag(dag).task_states[("second", -1)] == "skipped"


@pytest.mark.parametrize("deferrable", [False, True])
def test_wait_for_completion_ends_with_the_followed_run(run_dag, deferrable):
    dag = _controller(wait_for_completion=True, poke_interval=3600, deferrable=deferrable)
    assert run_dag(dag, dags=[_target()]).state == "success"
    failed = run_dag(dag, dags=[_target(fail=True)], run_id="second")
    assert failed.task_states[("trigger", -1)] == "failed"
    assert failed.triggered_runs[0].result.state == "failed"


@pytest.mark.parametrize("deferrable", [False, True])
def test_wait_for_completion_on_a_dag_not_passed_fails_saying_to_pass_it(run_dag, deferrable):
    dag = _controller(wait_for_completion=True, poke_interval=3600, deferrable=deferrable)
    result = run_dag(dag)
    assert result.task_states[("trigger", -1)] == "failed"
    assert "dags=[target_dag]" in str(result["trigger"].error)


def test_run_task_of_a_waiting_trigger_fails_saying_to_pass_the_dag(run_task):
    dag = _controller(wait_for_completion=True, poke_interval=3600)
    result = run_task(dag.task_dict["trigger"])
    assert result.state == "failed"
    assert isinstance(result.error, AirflowRuntimeError)
    assert "dags=[target_dag]" in str(result.error)


def test_an_asset_event_runs_the_dag_scheduled_on_it(run_dag):
    result = run_dag(_emitter("producer", A), dags=[_consumer("consumer", [A])])
    [run] = result.triggered_runs
    assert (run.dag_id, run.triggered_by) == ("consumer", "s3://x/a")
    assert run.run_id.startswith("asset_triggered__")
    assert run.result["read"].return_value == ["s3://x/a"]


def test_and_conditions_wait_for_every_asset_and_or_conditions_for_any(run_dag):
    both = _consumer("both", A & B)
    either = _consumer("either", A | B)
    only_a = run_dag(_emitter("p1", A), dags=[both, either])
    assert [r.dag_id for r in only_a.triggered_runs] == ["either"]


def test_a_partly_met_condition_carries_over_to_the_next_run_of_the_test(run_dag):
    both = _consumer("both_later", [A, B])
    first = run_dag(_emitter("pa", A), dags=[both])
    second = run_dag(_emitter("pb", B), dags=[both])
    assert first.triggered_runs == []
    [run] = second.triggered_runs
    assert run.result["read"].return_value == ["s3://x/a", "s3://x/b"]


def test_a_dag_scheduled_on_an_alias_runs_for_events_through_it(run_dag):
    alias = AssetAlias("daily")
    with DAG("alias_producer", schedule=None) as dag:

        @task(outlets=[alias])
        def write(*, outlet_events=None):
            outlet_events[alias].add(Asset("s3://x/day1"))

        write()
    result = run_dag(dag, dags=[_consumer("alias_consumer", [alias])])
    assert [r.dag_id for r in result.triggered_runs] == ["alias_consumer"]


def test_following_goes_on_through_a_chain(run_dag):
    with DAG("middle", schedule=[A]) as middle:
        task(lambda: None, task_id="emit_b", outlets=[B])()
    last = _consumer("last", [B])
    result = run_dag(_emitter("first", A), dags=[middle, last])
    [to_middle] = result.triggered_runs
    [to_last] = to_middle.result.triggered_runs
    assert to_last.result["read"].return_value == ["s3://x/b"]


def test_a_cycle_is_an_error_naming_it(run_dag):
    with DAG("loop", schedule=[A]) as loop:
        task(lambda: None, task_id="emit", outlets=[A])()
    with pytest.raises(FollowError, match="loop -> loop"):
        run_dag(_emitter("start", A), dags=[loop])


def test_a_chain_past_the_depth_limit_is_an_error(run_dag):
    dags = []
    assets = [Asset(name=f"chain{i}", uri=f"s3://chain/{i}") for i in range(MAX_DEPTH + 1)]
    for i in range(MAX_DEPTH):
        with DAG(f"step{i}", schedule=[assets[i]]) as dag:
            task(lambda: None, task_id="emit", outlets=[assets[i + 1]])()
        dags.append(dag)
    with pytest.raises(FollowError, match="deeper than"):
        run_dag(_emitter("origin", assets[0]), dags=dags)


def test_dags_must_be_dags(run_dag):
    with pytest.raises(TypeError, match=r"dags=\[...\] takes DAG objects"):
        run_dag(_controller(), dags=["target"])


def test_get_dag_run_state_of_an_unknown_run_is_not_found(xcom_comms):
    from airflow.sdk.execution_time.comms import GetDagRunState

    with pytest.raises(AirflowRuntimeError, match="DagRun not found"):
        xcom_comms.send(GetDagRunState(dag_id="d", run_id="r"))


def test_task_states_and_run_counts_answer_from_the_runs(run_dag):
    with DAG("looker", schedule=None) as dag:

        @task
        def look(*, ti=None, dag_run=None):
            from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

            states = RuntimeTaskInstance.get_task_states(dag_id="looker", run_ids=[dag_run.run_id])
            count = RuntimeTaskInstance.get_dr_count(dag_id="target")
            return [states[dag_run.run_id]["first"], count]

        first = task(lambda: None, task_id="first")()
        trigger = TriggerDagRunOperator(task_id="trigger", trigger_dag_id="target")
        first >> trigger >> look()
    assert run_dag(dag)["look"].return_value == ["success", 1]


def test_dag_and_dag_run_look_ups_answer_from_the_test_runs(run_dag):
    from airflow.sdk.execution_time import comms

    if not hasattr(comms, "GetDagRun"):
        pytest.skip("this Airflow's tasks cannot ask for a DAG or a DAG run")

    with DAG("asking", schedule=None, tags=["t"]) as dag:

        @task
        def ask(*, dag_run=None):
            from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS as c

            run = c.send(comms.GetDagRun(dag_id="asking", run_id=dag_run.run_id))
            found = c.send(comms.GetDag(dag_id="asking"))
            return [run.run_id == dag_run.run_id, run.state, found.dag_id, found.tags]

        ask()
    assert run_dag(dag)["ask"].return_value == [True, "running", "asking", ["t"]]


def test_variable_keys_list_the_variables_given(run_task):
    from airflow.sdk.execution_time import comms

    if not hasattr(comms, "GetVariableKeys"):
        pytest.skip("this Airflow's tasks cannot list variable keys")
    with DAG("keys", schedule=None):

        @task
        def keys():
            from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS as c

            return c.send(comms.GetVariableKeys(prefix="db_")).keys

        op = keys()
    assert run_task(op, variables={"db_a": 1, "db_b": 2, "other": 3}).return_value == ["db_a", "db_b"]
