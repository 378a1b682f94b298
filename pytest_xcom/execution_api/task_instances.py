"""Task instances: their outcomes and look-ups, reschedules and the task state store (the execution API's
``task_instances``, ``task_reschedules`` and ``task_state_store`` routes).

The DAG runner knows the run's task instances and sets the channel's ``ti_count``, ``task_states`` and
``reschedule_start`` while it runs; earlier runs are the store's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pytest_xcom import _compat, _msgs
from pytest_xcom._compat import ErrorResponse, ErrorType
from pytest_xcom._compat import comms_messages as m
from pytest_xcom.execution_api import to_db_json

__all__ = ["HANDLERS"]

# The execution API's TerminalTIState: the states a breadcrumb lists.
_TERMINAL_TI_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})


def _duration(ti: Any) -> float | None:
    """The task_instance table's ``duration`` of a finished instance."""
    if ti.start_date is not None and ti.end_date is not None:
        return float((ti.end_date - ti.start_date).total_seconds())
    # One that never ran: the scheduler finishes it through set_state, which starts and ends it at once;
    # a branch's skip (the skip-downstream route) writes both dates but no duration.
    return 0.0 if ti.state in ("upstream_failed", "removed") else None


def _task_type(task: Any) -> str | None:
    """The task_instance table's ``operator`` column: the operator's class name."""
    return None if task is None else getattr(task, "task_type", type(task).__name__)


def succeed_task(comms: Any, msg: Any) -> None:
    # The API server registers the task's asset events as it marks it successful.
    comms.deployment.register_outcome(msg, _compat.timezone.utcnow())
    comms.events.append(msg)


def record_outcome(comms: Any, msg: Any) -> None:
    comms.events.append(msg)


def get_ti_count(comms: Any, msg: Any) -> Any:
    if comms.ti_count is None:
        raise NotImplementedError(_msgs.unsupported_message("GetTICount"))
    return m.TICount(count=comms.ti_count(msg))


def get_task_states(comms: Any, msg: Any) -> Any:
    if comms.task_states is None:
        raise NotImplementedError(_msgs.unsupported_message("GetTaskStates"))
    return m.TaskStatesResult(task_states=comms.task_states(msg))


def get_task_breadcrumbs(comms: Any, msg: Any) -> Any:
    # The execution API's /breadcrumbs: the run's task instances in a terminal state, by task id and
    # map index. A run run_dag is not running (a run_task's) has no other task instance to list.
    dag_run = comms.store.recorded_dag_run(msg.dag_id, msg.run_id)
    tis = dag_run.get_task_instances() if dag_run is not None else []
    rows = [
        {
            "task_id": ti.task_id,
            "map_index": ti.map_index,
            "state": ti.state,
            "operator": _task_type(dag_run.dag.task_dict.get(ti.task_id)),
            "duration": _duration(ti),
        }
        for ti in sorted(tis, key=lambda ti: (ti.task_id, ti.map_index))
        if ti.state in _TERMINAL_TI_STATES
    ]
    return m.TaskBreadcrumbsResult(breadcrumbs=rows)


def get_previous_ti(comms: Any, msg: Any) -> Any:
    # Without a logical_date the server looks at every run, the asking task's own included.
    before = msg.logical_date or datetime.max.replace(tzinfo=UTC)
    for run in comms.store.earlier_dag_runs(msg.dag_id, before):
        ti = run.tis.get((msg.task_id, msg.map_index))
        if ti is not None and (not msg.state or ti.state == msg.state):
            ended = ti.end_date is not None and ti.start_date is not None
            return m.PreviousTIResult(
                task_instance={
                    "task_id": ti.task_id,
                    "dag_id": msg.dag_id,
                    "run_id": run.run.run_id,
                    "logical_date": run.run.logical_date,
                    "start_date": ti.start_date,
                    "end_date": ti.end_date,
                    "state": ti.state,
                    "try_number": ti.try_number,
                    "map_index": ti.map_index,
                    "duration": (ti.end_date - ti.start_date).total_seconds() if ended else None,
                }
            )
    return m.PreviousTIResult(task_instance=None)


def validate_inlets_and_outlets(comms: Any, msg: Any) -> Any:
    # Every asset a test's task names is active: there is no asset table to make one inactive.
    return m.InactiveAssetsResult(inactive_assets=[])


def get_task_reschedule_start_date(comms: Any, msg: Any) -> Any:
    start = comms.reschedule_start(msg.ti_id) if comms.reschedule_start is not None else None
    return m.TaskRescheduleStartDate(start_date=start)


def get_task_state(comms: Any, msg: Any) -> Any:
    if (msg.ti_id, msg.key) not in comms.task_state:
        return ErrorResponse(error=ErrorType.TASK_STORE_NOT_FOUND, detail={"key": msg.key})
    return m.TaskStateStoreResult(value=json.loads(comms.task_state[(msg.ti_id, msg.key)]))


def set_task_state(comms: Any, msg: Any) -> None:
    comms.task_state[(msg.ti_id, msg.key)] = to_db_json(msg.value)


def delete_task_state(comms: Any, msg: Any) -> None:
    comms.task_state.pop((msg.ti_id, msg.key), None)


def clear_task_state(comms: Any, msg: Any) -> None:
    for ti_id, key in [k for k in comms.task_state if k[0] == msg.ti_id]:
        del comms.task_state[(ti_id, key)]


HANDLERS: dict[str, Callable[[Any, Any], Any]] = {
    "SucceedTask": succeed_task,
    "AwaitInputTask": record_outcome,
    "GetTICount": get_ti_count,
    "GetTaskStates": get_task_states,
    "GetTaskBreadcrumbs": get_task_breadcrumbs,
    "GetPreviousTI": get_previous_ti,
    "ValidateInletsAndOutlets": validate_inlets_and_outlets,
    "GetTaskRescheduleStartDate": get_task_reschedule_start_date,
    "GetTaskStateStore": get_task_state,
    "SetTaskStateStore": set_task_state,
    "DeleteTaskStateStore": delete_task_state,
    "ClearTaskStateStore": clear_task_state,
}
