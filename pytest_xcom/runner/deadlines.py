"""``DAG(deadline=DeadlineAlert(...))``: the run's deadlines, and their callbacks when the run misses them.

Airflow, when it creates a run, evaluates each alert's reference plus its interval into a deadline
(``create_dagrun``; the reference models are in airflow/models/deadline.py): the run's logical date,
when it was queued, a fixed date, or the average duration of the DAG's latest finished runs (none while
fewer than ``min_runs`` finished). The scheduler's loop then looks for deadlines earlier than "now" and
queues their callbacks (``Deadline.handle_miss``), called with the alert's kwargs and a ``context`` of
``dag_run`` and ``deadline``; a run that succeeds first drops its deadlines.

Here "now" is the run's clock: when the run was created plus the time waits for retries, sensors and
triggers moved it on; each pass looks before it schedules. A failed run keeps its deadlines, as in
Airflow, whose scheduler would call their callbacks once the wall clock passes them; ``missed`` stays
False for those.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pytest_xcom import _msgs

if TYPE_CHECKING:
    from pytest_xcom.runner.dagrun import SchedulerDagRun

__all__ = ["RunDeadline", "check_deadlines", "create_deadlines"]

log = logging.getLogger("airflow.models.deadline")


@dataclass
class RunDeadline:
    """One deadline of a run: when it falls, its callback, whether the run missed it and what it raised."""

    name: str | None
    deadline_time: datetime
    callback: Any
    """The alert's callback (``AsyncCallback`` / ``SyncCallback``: ``.path``, ``.kwargs``)."""
    missed: bool = False
    error: BaseException | None = None


def _reference_time(reference: Any, dr: SchedulerDagRun, created: datetime) -> datetime | None:
    kind = type(reference).__name__
    if kind == "DagRunLogicalDateDeadline":
        return dr.run.logical_date
    if kind == "DagRunQueuedAtDeadline":
        return created
    if kind == "FixedDatetimeDeadline":
        return reference._datetime
    if kind == "AverageRuntimeDeadline":
        # Every finished run of the DAG, latest logical date first, whatever this run's date.
        runs = dr.store.earlier_dag_runs(dr.run.dag_id, datetime.max.replace(tzinfo=UTC))
        finished = [r for r in runs if r.start_date and r.end_date][: reference.max_runs]
        if len(finished) < reference.min_runs:
            return None  # Airflow logs it and creates no deadline
        seconds = [(r.end_date - r.start_date).total_seconds() for r in finished]
        return created + timedelta(seconds=sum(seconds) / len(seconds))
    raise NotImplementedError(_msgs.deadline_reference_unsupported(kind))


def create_deadlines(dr: SchedulerDagRun, created: datetime) -> list[RunDeadline]:
    """The run's deadlines, as ``create_dagrun`` records them (``created``: when the run was queued)."""
    alerts = getattr(dr.dag, "deadline", None) or []
    deadlines = []
    for alert in alerts if isinstance(alerts, list) else [alerts]:
        base = _reference_time(alert.reference, dr, created)
        interval = alert.interval
        if not isinstance(interval, timedelta):
            interval = interval.resolve()  # a VariableInterval: the Variable's minutes, read now
        if base is not None:
            deadlines.append(RunDeadline(getattr(alert, "name", None), base + interval, alert.callback))
    return deadlines


def _context(dr: SchedulerDagRun, deadline: RunDeadline, now: datetime) -> dict[str, Any]:
    # The parts of the API's DAGRunResponse a run here has, JSON-ready as Airflow sends them.
    start, end = dr.run.data_interval or (None, None)

    def iso(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat().replace("+00:00", "Z")

    dag_run = {
        "dag_run_id": dr.run.run_id,
        "dag_id": dr.run.dag_id,
        "logical_date": iso(dr.run.logical_date),
        "queued_at": iso(dr.start_date),
        "start_date": iso(dr.start_date),
        "end_date": iso(dr.end_date),
        "data_interval_start": iso(start),
        "data_interval_end": iso(end),
        "run_after": iso(dr.run.run_after),
        "run_type": "manual",
        "state": dr.state,
        "conf": dict(dr.conf or {}),
    }
    return {"dag_run": dag_run, "deadline": {"id": None, "deadline_time": deadline.deadline_time}}


def _call(path: str, kwargs: dict[str, Any]) -> None:
    module_name, _, name = path.rpartition(".")
    result = getattr(importlib.import_module(module_name), name)(**kwargs)
    if inspect.isawaitable(result):  # an AsyncCallback, which Airflow's triggerer awaits
        asyncio.run(result)  # type: ignore[arg-type]


def check_deadlines(dr: SchedulerDagRun, deadlines: list[RunDeadline], now: datetime) -> None:
    """The scheduler's look for missed deadlines: call the callback of each one earlier than ``now``."""
    for deadline in deadlines:
        if deadline.missed or deadline.deadline_time >= now:
            continue
        deadline.missed = True
        kwargs = {**(deadline.callback.kwargs or {}), "context": _context(dr, deadline, now)}
        try:
            _call(deadline.callback.path, kwargs)
        except Exception as exc:
            log.exception("Deadline callback %s failed for %s", deadline.callback.path, dr.run.run_id)
            deadline.error = exc
