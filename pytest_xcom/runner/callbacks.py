"""DAG-level ``on_success_callback`` / ``on_failure_callback``, called as Airflow calls them.

The run's last ``update_state`` decides the callback (:attr:`SchedulerDagRun.callback`: success or
failure, the reason, the deciding task instance); the DAG processor then runs it
(airflow/dag_processing/processor.py ``_execute_dag_callbacks``; dag.test() runs the same code in line,
``DagRun.execute_dag_callbacks``): the context is that task instance's template context plus
``reason``, or only ``dag``, ``run_id`` and ``reason`` without one. Each callback of a list is called in
turn; one that raises is logged with its traceback and the others still run; the run's state stays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_xcom.context import make_task_instance

if TYPE_CHECKING:
    from pytest_xcom.runner.dagrun import SchedulerDagRun

__all__ = ["DagCallbackRun", "run_dag_callbacks"]

# The logger Airflow's DagRun logs a failed callback on (LoggingMixin: module and class name).
log = logging.getLogger("airflow.models.dagrun.DagRun")


@dataclass(frozen=True)
class DagCallbackRun:
    """One call of a DAG callback: which one, why, the task instance its context came from, what it raised."""

    name: str
    """``"on_success_callback"`` or ``"on_failure_callback"``."""
    reason: str
    """Airflow's ``context["reason"]``: ``"success"``, ``"task_failure"`` or ``"all_tasks_deadlocked"``."""
    task_id: str | None
    map_index: int | None
    callback: Any
    error: BaseException | None


def _context(dr: SchedulerDagRun, reason: str) -> dict[str, Any]:
    chosen = dr.callback.ti if dr.callback is not None else None
    if chosen is None:
        return {"dag": dr.dag, "run_id": dr.run.run_id, "reason": reason}
    task = dr.dag.task_dict[chosen.task_id]
    ti = make_task_instance(
        task, dr.run, conf=dr.conf, map_index=chosen.map_index, try_number=max(chosen.try_number, 1)
    )
    # The server sends the run as it is now: finished, with its state.
    server = ti._ti_context_from_server
    ti._ti_context_from_server = server.model_copy(update={"dag_run": dr.run.dag_run(dr.conf, dr.state)})
    context = dict(ti.get_template_context())
    context["reason"] = reason
    return context


def run_dag_callbacks(dr: SchedulerDagRun) -> list[DagCallbackRun]:
    """Call the callbacks ``dr.callback`` asks for (the comms channel must be installed)."""
    if dr.callback is None:
        return []
    success, reason, chosen = dr.callback
    name = "on_success_callback" if success else "on_failure_callback"
    callbacks = getattr(dr.dag, name)
    callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
    context = _context(dr, reason)
    calls = []
    for callback in callbacks:
        error = None
        try:
            callback(context)
        except Exception as exc:
            log.exception("Callback failed for %s", dr.dag.dag_id)
            error = exc
        calls.append(
            DagCallbackRun(
                name=name,
                reason=reason,
                task_id=chosen.task_id if chosen else None,
                map_index=chosen.map_index if chosen else None,
                callback=callback,
                error=error,
            )
        )
    return calls
