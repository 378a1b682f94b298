"""A user's test module using every fixture and public helper, with the annotations they would write.

``tests/test_typing.py`` runs ``mypy --strict`` on it; it is not collected as a test module itself.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, assert_type

import pytest
from airflow.sdk import DAG, task
from hypothesis import given

import pytest_xcom
from pytest_xcom import (
    AirflowConfig,
    AssetEventRecord,
    Comparison,
    DagCallbackRun,
    DagFolder,
    DagRunner,
    DagRunResult,
    FollowError,
    InMemorySupervisorComms,
    InMemoryTaskInstance,
    LogLine,
    RenderedFields,
    RunDeadline,
    TaskContextFactory,
    TaskLogs,
    TaskRenderer,
    TaskRunner,
    TaskRunResult,
    TriggeredRun,
    TriggerWaitError,
    UnreadableXCom,
    XComRecord,
    XComStore,
    assert_roundtrips,
    compare_with_airflow,
    load_dags,
    render_task,
    roundtrip,
    run_dag,
    run_task,
)
from pytest_xcom.strategies import refused_values, xcom_values

with DAG("typed", schedule=None) as dag:

    @task
    def extract() -> dict[str, int]:
        return {"rows": 3}

    @task
    def load(data: Any) -> int:  # Airflow types a @task call's argument as what it receives, not an XComArg
        return int(data["rows"]) * 10

    load(extract())


def test_store_and_context(xcom_store: XComStore, task_context: TaskContextFactory) -> None:
    xcom_store.seed("extract", {"rows": 3}, key="return_value", map_index=-1, dag_id="typed", run_id="r1")
    xcom_store.seed("extract", {"rows": 4})
    value: Any = xcom_store.get("extract", key="return_value", map_index=-1, default=None)
    assert value == {"rows": 4}
    ctx = task_context("load", dag=dag, logical_date="2024-01-01", conf={"x": 1}, map_index=-1, try_number=1)
    ti: InMemoryTaskInstance = ctx["ti"]
    ti.xcom_push(key="k", value=1)
    assert ti.xcom_pull(task_ids="load", key="k") == 1
    xcom_store.assert_pushed("load", "k", 1, map_index=-1)
    xcom_store.assert_not_pushed("load", "missing")
    records: list[XComRecord] = list(xcom_store)
    assert [r.key for r in records] and xcom_store.records()
    why: str = xcom_store.explain_miss("load", key="nope")
    assert why
    xcom_store.clear()


def test_comms(xcom_comms: InMemorySupervisorComms) -> None:
    xcom_comms.variables["bucket"] = "b"
    xcom_comms.connections["db"] = {"conn_type": "sqlite", "host": "x"}


def test_run_task(run_task: TaskRunner, xcom_store: XComStore) -> None:
    xcom_store.seed("extract", {"rows": 3})
    result: TaskRunResult = run_task(
        dag.task_dict["load"], logical_date=datetime(2024, 1, 1), conf={}, variables={"a": "b"}
    )
    state: str = result.state
    error: BaseException | None = result.error
    xcoms: dict[str, Any] = result.xcoms
    assert state == "success" and error is None and result.ok and result.try_number == 1
    assert xcoms["return_value"] == result.return_value == 30


def test_run_dag(run_dag: DagRunner) -> None:
    result: DagRunResult = run_dag(dag, logical_date="2024-01-01", run_id="r", conf={"k": "v"})
    states: dict[tuple[str, int], str] = result.task_states
    xcoms: dict[tuple[str, int, str], Any] = result.xcoms
    order: list[tuple[str, int]] = result.order
    values: list[Any] = result.mapped("load") if False else []
    one: TaskRunResult = result["load"]
    assert result.state == "success" and states and xcoms and order and not values and one.ok


def test_render_task(render_task: TaskRenderer) -> None:
    rendered: RenderedFields = render_task(dag.task_dict["load"], logical_date="2024-01-01", params={})
    shown: dict[str, Any] = rendered.shown
    assert rendered is not None and shown is not None


def test_airflow_config(airflow_config: AirflowConfig) -> None:
    airflow_config["core.max_map_length"] = 2
    airflow_config.set("core.dag_discovery_safe_mode", False)


@pytest.mark.airflow_config({"core.max_map_length": 2})
def test_dag_folder(dag_folder: DagFolder) -> None:
    dags: dict[str, Any] = dag_folder.dags
    errors: dict[str, str] = dag_folder.import_errors
    assert dags or errors


def test_outside_pytest(tmp_path: Path) -> None:
    store = XComStore()
    dag_result: DagRunResult = run_dag(dag, store=store, logical_date="2024-01-01")
    task_result: TaskRunResult = run_task(dag.task_dict["extract"], store=store)
    rendered: RenderedFields = render_task(dag.task_dict["load"], store=store)
    folder: DagFolder = load_dags(tmp_path)
    comparison: Comparison = compare_with_airflow(tmp_path / "dag.py", dag_id="typed", conf={})
    identical: bool = comparison.identical
    differences: list[str] = comparison.differences
    assert dag_result and task_result and rendered is not None and folder and identical and differences
    assert roundtrip((1, 2)) == (1, 2)
    assert_roundtrips({"a": 1}, name="payload")
    assert pytest_xcom.run_dag is run_dag


def test_public_types_are_precise(tmp_path: Path) -> None:
    # assert_type fails on Any: each public callable and result attribute has a real type.
    store = XComStore()
    result = run_dag(dag, store=store)
    assert_type(result, DagRunResult)
    assert_type(result.state, str)
    assert_type(result.task_states, dict[tuple[str, int], str])
    assert_type(result.xcoms, dict[tuple[str, int, str], Any])
    assert_type(result.order, list[tuple[str, int]])
    assert_type(result.mapped("load", key="return_value"), list[Any])
    assert_type(result["load"], TaskRunResult)
    assert_type(result.store, XComStore)
    assert_type(result.logs("load"), TaskLogs)
    assert_type(result["load"].logs[0], LogLine)
    assert_type(result["load"].logs.messages, list[str])
    assert_type(result.asset_events, list[AssetEventRecord])
    assert_type(result["load"].asset_events, list[AssetEventRecord])
    assert_type(result.triggered_runs, list[TriggeredRun])
    assert_type(result.dag_callbacks, list[DagCallbackRun])
    assert_type(result.deadlines, list[RunDeadline])
    assert_type(result.triggered_runs[0].result, DagRunResult | None)
    assert_type(run_task(dag.task_dict["extract"], store=store), TaskRunResult)
    assert_type(run_task(dag.task_dict["extract"]).xcoms, dict[str, Any])
    assert_type(render_task(dag.task_dict["load"]), RenderedFields)
    assert_type(load_dags(tmp_path), DagFolder)
    assert_type(compare_with_airflow(tmp_path / "dag.py"), Comparison)
    assert_type(compare_with_airflow(tmp_path / "dag.py").differences, list[str])
    assert_type(store.records(), list[XComRecord])
    unreadable = store.records(keep_unreadable=True)[0].value
    if isinstance(unreadable, UnreadableXCom):
        assert_type(unreadable.error, BaseException)
    assert_type(store.explain_miss("load"), str)
    assert_type(DagRunner(store), DagRunner)
    assert_type(TaskContextFactory(store=store), TaskContextFactory)
    assert_type(TaskRunner(TaskContextFactory(store=store)), TaskRunner)
    assert_type(TaskRenderer(TaskContextFactory(store=store)), TaskRenderer)
    assert_type(FollowError("a chain that does not end"), FollowError)
    assert_type(TriggerWaitError("still waiting"), TriggerWaitError)


@given(xcom_values(leaves=["int", "str"], max_depth=2))
def test_values_survive(value: Any) -> None:
    assert_roundtrips(value)


@given(refused_values())
def test_refused(pair: tuple[Any, type[BaseException]]) -> None:
    value, error = pair
    with pytest.raises(error):
        roundtrip(value)
