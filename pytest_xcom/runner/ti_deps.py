"""The task dependencies besides trigger rules and mapping, as the scheduler evaluates them.

- ``NotInRetryPeriodDep`` (airflow/ti_deps/deps/not_in_retry_period_dep.py), with
  ``TaskInstance.next_retry_datetime`` (airflow/models/taskinstance.py);
- ``NotPreviouslySkippedDep`` (airflow/ti_deps/deps/not_previously_skipped_dep.py);
- ``ReadyToRescheduleDep`` (airflow/ti_deps/deps/ready_to_reschedule.py);
- ``PrevDagrunDep`` (airflow/ti_deps/deps/prev_dagrun_dep.py): ``depends_on_past`` and
  ``wait_for_downstream``, judged against the earlier ``run_dag`` runs of the DAG in the same store.

Time is the run's own clock (:attr:`SchedulerDagRun.clock`, seconds since the run started): nothing
sleeps, and when only waiting is left the clock jumps to the next retry, where dag.test() sleeps.
"""

from __future__ import annotations

import hashlib
import math
from typing import TYPE_CHECKING

from pytest_xcom import _compat, _msgs
from pytest_xcom.runner.states import SKIPPED, SUCCESS, UP_FOR_RESCHEDULE, UP_FOR_RETRY

if TYPE_CHECKING:
    from pytest_xcom.runner.dagrun import TI, DepContext, SchedulerDagRun

__all__ = [
    "next_retry_at",
    "not_in_retry_period_dep",
    "not_previously_skipped_dep",
    "prev_dagrun_dep",
    "ready_to_reschedule_dep",
]

_SKIPMIXIN_KEY, _FOLLOWED, _SKIPPED = "skipmixin_key", "followed", "skipped"
_MAX_RETRY_DELAY = 24 * 60 * 60  # [core] max_task_retry_delay's default


def next_retry_at(ti: TI, dr: SchedulerDagRun) -> float:
    """``next_retry_datetime`` on the run's clock: the end of the try plus the (backed-off) delay."""
    task = dr.dag.task_dict[ti.task_id]
    if ti.retry_delay_override is not None:
        return ti.end + ti.retry_delay_override
    delay = task.retry_delay.total_seconds()
    multiplier = _compat.retry_backoff_multiplier(task)
    if multiplier != 1.0 and multiplier > 0:
        try:
            min_backoff = math.ceil(delay * (multiplier ** (ti.try_number - 1)))
        except OverflowError:
            min_backoff = _MAX_RETRY_DELAY
        min_backoff = max(min_backoff, 1)
        key = f"{dr.run.dag_id}#{ti.task_id}#{dr.run.logical_date}#{ti.try_number}"
        ti_hash = int(hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest(), 16)
        delay = min(min_backoff + ti_hash % min_backoff, _MAX_RETRY_DELAY)
        if task.max_retry_delay:
            delay = min(task.max_retry_delay.total_seconds(), delay)
    return ti.end + delay


def not_in_retry_period_dep(ti: TI, dr: SchedulerDagRun, ctx: DepContext) -> bool:
    if ctx.ignore_in_retry_period or ti.state != UP_FOR_RETRY:
        return True
    # Airflow compares with "now", which is always later than the end of the try; passes take no
    # time on the run's clock, so a retry due now is ready.
    return next_retry_at(ti, dr) <= dr.clock


def not_previously_skipped_dep(ti: TI, dr: SchedulerDagRun, ctx: DepContext) -> bool:
    """Skip ``ti`` when a finished branching/short-circuit parent recorded that it is not followed."""
    task = dr.dag.task_dict[ti.task_id]
    for parent in task.upstream_list:
        if not parent.inherits_from_skipmixin or not ctx.has_finished(parent.task_id):
            continue
        map_index = _compat.skip_decision_map_index(parent, ti.map_index)
        decision = dr.store.get(
            parent.task_id,
            key=_SKIPMIXIN_KEY,
            map_index=map_index,
            dag_id=dr.run.dag_id,
            run_id=dr.run.run_id,
        )
        if not isinstance(decision, dict):
            continue
        if (_FOLLOWED in decision and ti.task_id not in decision[_FOLLOWED]) or (
            _SKIPPED in decision and ti.task_id in decision[_SKIPPED]
        ):
            dr.set_state(ti, SKIPPED, ctx)
            return False
    return True


def ready_to_reschedule_dep(ti: TI, dr: SchedulerDagRun, ctx: DepContext) -> bool:
    """A sensor in reschedule mode pokes again once its reschedule date has come on the run's clock."""
    if ctx.ignore_in_reschedule_period or ti.state != UP_FOR_RESCHEDULE or ti.reschedule_at is None:
        return True
    return ti.reschedule_at <= dr.clock


_PAST_SUCCESSFUL = (SKIPPED, SUCCESS)


def prev_dagrun_dep(ti: TI, dr: SchedulerDagRun, ctx: DepContext) -> bool:
    """``depends_on_past``: the task's instances in the previous run must have succeeded (or been
    skipped), and with ``wait_for_downstream`` their direct downstream instances too.

    Unfinished counts as unsuccessful, as in Airflow; the reason is kept in ``dr.held``.
    """
    task = dr.dag.task_dict[ti.task_id]
    if not task.depends_on_past:
        return True
    previous = dr.previous_dag_run()
    if previous is None:
        return True  # the first run of the DAG (or, with catchup, no earlier scheduled run)
    reason = None
    prev_tis = previous.tis_of(ti.task_id)
    if not prev_tis:
        first_ever = not any(run.tis_of(ti.task_id) for run in dr.earlier_dag_runs())
        if task.ignore_first_depends_on_past and first_ever:
            return True
        reason = _msgs.PREV_TI_NOT_RUN
    elif unsuccessful := [t for t in prev_tis if t.state not in _PAST_SUCCESSFUL]:
        reason = _msgs.prev_tis_unsuccessful(len(unsuccessful))
    elif task.wait_for_downstream and any(
        t.state not in _PAST_SUCCESSFUL for down in task.downstream_task_ids for t in previous.tis_of(down)
    ):
        reason = _msgs.PREV_DOWNSTREAM_UNFINISHED
    if reason is None:
        return True
    dr.held[ti.key] = _msgs.held_by_earlier_run(reason, previous.run.run_id)
    return False
