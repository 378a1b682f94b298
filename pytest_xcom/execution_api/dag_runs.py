"""DAG runs and DAGs (the execution API's ``dag_runs`` and ``dags`` routes): runs the tasks trigger, and
look-ups of the test's runs, from the channel's deployment and the store's earlier runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytest_xcom import _msgs
from pytest_xcom._compat import ErrorResponse, ErrorType
from pytest_xcom._compat import comms_messages as m
from pytest_xcom.execution_api import ServerError

__all__ = ["HANDLERS"]


def trigger_dag_run(comms: Any, msg: Any) -> Any:
    if not comms.deployment.trigger(msg):
        return ErrorResponse(error=ErrorType.DAGRUN_ALREADY_EXISTS)
    return m.OKResponse(ok=True)


def get_dag_run(comms: Any, msg: Any) -> Any:
    found = comms.deployment.dag_runs.get((msg.dag_id, msg.run_id))
    if found is None:
        raise ServerError(404, "not_found", _msgs.unknown_dag_run(msg.dag_id, msg.run_id))
    run, conf, state = found
    return m.DagRunResult(**run.dag_run(conf, state()).model_dump())


def get_dag_run_state(comms: Any, msg: Any) -> Any:
    try:
        state = comms.deployment.run_state(msg.dag_id, msg.run_id)
    except LookupError as e:
        raise ServerError(404, "not_found", str(e)) from None
    return m.DagRunStateResult(state=state)


def get_dr_count(comms: Any, msg: Any) -> Any:
    return m.DRCount(count=comms.deployment.count_runs(msg))


def get_previous_dag_run(comms: Any, msg: Any) -> Any:
    earlier = comms.store.earlier_dag_runs(msg.dag_id, msg.logical_date)
    found = next((run for run in earlier if not msg.state or run.state == msg.state), None)
    if found is None:
        return m.PreviousDagRunResult(dag_run=None)
    dag_run = found.run.dag_run(found.conf, found.state).model_copy(update={"end_date": found.end_date})
    return m.PreviousDagRunResult(dag_run=dag_run)


def get_prev_successful_dag_run(comms: Any, msg: Any) -> Any:
    # The latest successful run before the task's own, among the run_dag runs in the store; a task
    # outside run_dag (task_context, run_task) has none: prev_*_success resolve to None.
    if comms.dag_run is None or comms.dag_run[1] is None:
        return m.PrevSuccessfulDagRunResult()
    earlier = comms.store.earlier_dag_runs(*comms.dag_run)
    found = next((run for run in earlier if run.state == "success"), None)
    if found is None:
        return m.PrevSuccessfulDagRunResult()
    start, end = found.run.data_interval or (None, None)
    return m.PrevSuccessfulDagRunResult(
        data_interval_start=start,
        data_interval_end=end,
        start_date=found.start_date,
        end_date=found.end_date,
    )


def get_dag(comms: Any, msg: Any) -> Any:
    dag = comms.deployment.dags.get(msg.dag_id)
    if dag is None:
        raise ServerError(404, "not_found", f"Dag with dag_id: '{msg.dag_id}' not found")
    fields = {
        "dag_id": dag.dag_id,
        "is_paused": False,
        "bundle_name": None,
        "bundle_version": None,
        "relative_fileloc": None,
        "owners": getattr(dag, "owner", None),
        "tags": sorted(dag.tags or []),
        "next_dagrun": None,
    }
    return m.DagResult(**{k: v for k, v in fields.items() if k in m.DagResult.model_fields})


HANDLERS: dict[str, Callable[[Any, Any], Any]] = {
    "TriggerDagRun": trigger_dag_run,
    "GetDagRun": get_dag_run,
    "GetDagRunState": get_dag_run_state,
    "GetDRCount": get_dr_count,
    "GetPreviousDagRun": get_previous_dag_run,
    "GetPrevSuccessfulDagRun": get_prev_successful_dag_run,
    "GetDag": get_dag,
}
