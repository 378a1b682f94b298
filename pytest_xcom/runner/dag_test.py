"""``run_dag``: what ``DAG.test()`` does (airflow/sdk/definitions/dag.py), with the scheduler in memory.

The loop is dag.test()'s: each pass asks the run for what is schedulable now
(:meth:`SchedulerDagRun.update_state`, decided together from the states at the start of the pass),
marks those instances scheduled (a new try each, as dag.test() bumps ``try_number``), then runs them one
after the other; then the next pass, until the run is no longer running.

Order inside a pass: dag.test() runs a pass's instances by iterating a Python ``set`` of them, so its
order is not fixed (it follows string hashes, which change between processes). Here they run in the
order ``update_state`` returns them: as the scheduler lists task instances (by task_id, then map_index),
then those an expansion in the same pass created. The order shows only where instances of one pass
read each other: a task whose rule is already met (``one_success``, ``always``, ...) may share a pass
with an upstream it pulls from, and a branch may skip an instance already scheduled in its pass
(dag.test() runs that one anyway, from its stale copy, and so does run_dag).

Earlier runs: each run is recorded in the store, and ``depends_on_past`` / ``wait_for_downstream``
judge against the DAG's earlier runs there. Where Airflow would leave the run running for ever (an
instance held by an earlier run; dag.test() loops, sleeping), run_dag returns the run ``running``, with
``result.waiting`` naming what holds each instance without a state.

Deadlines (``DAG(deadline=...)``) are recorded when the run is created and looked at before each
pass, on the run's clock (:mod:`.deadlines`).

When the run ends, the DAG's ``on_success_callback`` / ``on_failure_callback`` is called as the DAG
processor calls it (:mod:`.callbacks`); ``result.dag_callbacks`` lists the calls.

Waiting: a task that fails with retries left is ``up_for_retry`` until its ``retry_delay`` (backed off,
as Airflow computes it) has passed on the run's clock. Other tasks go on meanwhile, and see it
``up_for_retry``; when nothing else can run, the clock jumps to the next retry instead of sleeping.
"""

from __future__ import annotations

import contextlib
import copy
import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pytest_xcom import _arguments, _msgs, hitl, triggerer
from pytest_xcom._compat import RUN_CONF_REFUSAL, SKIP_DOWNSTREAM_SPARES, ParamValidationError, timezone
from pytest_xcom.comms import installed
from pytest_xcom.context import RunInfo
from pytest_xcom.deployment import Deployment, TriggeredRun
from pytest_xcom.runner import following
from pytest_xcom.runner.callbacks import DagCallbackRun, run_dag_callbacks
from pytest_xcom.runner.dagrun import TI, SchedulerDagRun
from pytest_xcom.runner.deadlines import check_deadlines, create_deadlines
from pytest_xcom.runner.results import DagRunResult
from pytest_xcom.runner.states import (
    FINISHED,
    RUNNING,
    SCHEDULED,
    SKIPPED,
    UP_FOR_RESCHEDULE,
    UP_FOR_RETRY,
)
from pytest_xcom.runner.task_runner import examples_off, provided, run_task_instance
from pytest_xcom.runner.ti_deps import next_retry_at
from pytest_xcom.store import XComStore

__all__ = ["DagRunner", "run_dag"]

# A pass that runs nothing, changes no state and moves no clock leaves the next pass the same; dag.test()
# would loop (sleeping) for ever. A few such passes in a row end in an error instead of a hang.
_MAX_IDLE_PASSES = 3


def _validate_run_params(dag: Any, conf: dict | None) -> None:
    """Refuse to create the run, as Airflow's create_dagrun does, when conf and the DAG's params fail."""
    merged = copy.deepcopy(dag.params)
    for key, value in (conf or {}).items():
        if key in merged:
            merged.get_param(key).value = value
        else:
            merged[key] = value
    try:
        merged.validate()
    except ParamValidationError as exc:
        if RUN_CONF_REFUSAL is ParamValidationError:
            raise
        raise RUN_CONF_REFUSAL(str(exc)) from None


def _in_run(task: Any, run: RunInfo) -> bool:
    # A run gets no instance of a task whose start_date is after, or end_date before, its logical date.
    when = run.logical_date
    if when is None:
        return True
    return (task.start_date is None or task.start_date <= when) and (
        task.end_date is None or when <= task.end_date
    )


def _apply_skips(dr: SchedulerDagRun, events: list[Any]) -> None:
    # Branching and short-circuit operators ask the API server to skip downstream instances; from 3.2 it
    # leaves running, successful and failed ones alone (ti_skip_downstream).
    for msg in events:
        if type(msg).__name__ != "SkipDownstreamTasks":
            continue
        for item in msg.tasks:
            key = (item, -1) if isinstance(item, str) else tuple(item)
            ti = dr.tis.get(key)  # type: ignore[arg-type]
            if ti is not None and ti.state not in SKIP_DOWNSTREAM_SPARES:
                ti.state = SKIPPED


def _run_scheduled(dr: SchedulerDagRun, ti: TI, conf: dict | None, clock: triggerer.RunClock) -> None:
    """dag.test()'s ``_run_task`` for one scheduled instance, its outcome written back to the row."""
    task = dr.dag.task_dict[ti.task_id]
    ti.state = RUNNING
    ti.start_date = timezone.utcnow()
    result, events = run_task_instance(
        task,
        dr.run,
        dr.store,
        conf=conf,
        map_index=ti.map_index,
        try_number=ti.try_number,
        clock=clock,
        reschedule_count=ti.reschedules,
    )
    _apply_skips(dr, events)
    ti.state, ti.result, ti.end = result.state, result, dr.clock
    ti.end_date = timezone.utcnow()
    retry = next((m for m in events if type(m).__name__ == "RetryTask"), None)
    ti.retry_delay_override = getattr(retry, "retry_delay_seconds", None)
    reschedule = next((m for m in events if type(m).__name__ == "RescheduleTask"), None)
    if ti.state == UP_FOR_RESCHEDULE and reschedule is not None:
        # The sensor pokes again at its reschedule date on the run's clock; it measures its timeout
        # from its first start, which the server (answering from ``clock``) tells it on later pokes.
        ti.reschedules += 1
        clock.reschedule(result.ti, ti.reschedules)
        wait = (reschedule.reschedule_date - timezone.utcnow()).total_seconds()
        ti.reschedule_at = dr.clock + max(wait, 0.0)


def waiting(dr: SchedulerDagRun) -> dict[tuple[str, int], str]:
    """What holds each unfinished instance of a run that cannot go on: an earlier run, or upstreams."""
    unfinished = {ti.task_id for ti in dr.tis.values() if ti.state not in FINISHED}
    return {
        ti.key: dr.held.get(ti.key)
        or _msgs.waits_for_upstream(sorted(dr.dag.task_dict[ti.task_id].upstream_task_ids & unfinished))
        for ti in dr.get_task_instances()
        if ti.state not in FINISHED
    }


def run_passes(
    dr: SchedulerDagRun,
    conf: dict | None,
    clock: triggerer.RunClock,
    order: list[tuple[str, int]] | None = None,
) -> list[DagCallbackRun]:
    """dag.test()'s loop: schedule, run what was scheduled, until the run has a final state (or is held
    by an earlier run for ever); the DAG callbacks the end of the run called.

    ``order`` (if given) gets the (task_id, map_index) of each instance as it starts to run.
    """
    idle = 0
    while dr.state == RUNNING:
        dr.begin_pass()
        if dr.deadlines:
            check_deadlines(dr, dr.deadlines, dr.created + timedelta(seconds=dr.clock))
        # An instance held back stays so while the earlier run does not change (the scheduler's cache of
        # unmet instances does not ask again), so only those that got a state since are let go.
        dr.held = {key: why for key, why in dr.held.items() if key in dr.tis and dr.tis[key].state is None}
        schedulable = dr.update_state()
        if dr.state != RUNNING:
            dr.end_date = max(timezone.utcnow(), dr.created + timedelta(seconds=dr.clock))
            return run_dag_callbacks(dr)
        for ti in schedulable:
            if ti.state != UP_FOR_RESCHEDULE:
                ti.try_number += 1
            ti.state = SCHEDULED
        if not schedulable:
            # dag.test() sleeps here until a retry or a sensor's next poke is due: the clock jumps to it.
            due = [next_retry_at(ti, dr) for ti in dr.tis.values() if ti.state == UP_FOR_RETRY]
            due += [
                ti.reschedule_at
                for ti in dr.tis.values()
                if ti.state == UP_FOR_RESCHEDULE and ti.reschedule_at is not None
            ]
            if due and min(due) > dr.clock:
                clock.advance(timedelta(seconds=min(due) - dr.clock))
                dr.clock = min(due)
        for ti in schedulable:
            if order is not None:
                order.append(ti.key)
            _run_scheduled(dr, ti, conf, clock)
        if dr.pass_changed() or schedulable:
            idle = 0
            continue
        idle += 1
        unfinished = [ti for ti in dr.tis.values() if ti.state not in FINISHED]
        if idle > _MAX_IDLE_PASSES and (dr.held or dr.deadlock_check_off(unfinished)):
            return []  # Airflow waits (for the earlier run, or for ever): the run stays running
        if idle > _MAX_IDLE_PASSES:
            stuck = sorted(ti.key for ti in dr.tis.values() if ti.state not in FINISHED)
            raise RuntimeError(f"pytest_xcom's scheduler made no progress on {stuck}; please report this DAG")


@dataclass
class DagRunner:
    """Runs every task of a DAG as dag.test() does, doing the scheduler's part in memory."""

    store: XComStore

    def __call__(
        self,
        dag: Any,
        *,
        logical_date: datetime | date | str | None = None,
        run_after: datetime | date | str | None = None,
        run_id: str | None = None,
        conf: dict[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
        connections: Mapping[str, Any] | None = None,
        dags: Iterable[Any] | None = None,
        asset_events: Mapping[Any, Iterable[Any]] | None = None,
        hitl_responses: Mapping[str, Mapping[str, Any]] | None = None,
        _origin: TriggeredRun | None = None,
    ) -> DagRunResult:
        """Run ``dag``; ``dags`` are the DAGs whose triggered and asset-scheduled runs are followed after
        it, ``asset_events`` ({asset or URI: [extra, ...]}) events that happened before it,
        ``hitl_responses`` ({task_id: {"chosen_options": [...], "params_input": {...}}}) the answers to
        its human-in-the-loop tasks. ``_origin`` is the run a follower starts (its trigger or events)."""
        to_follow = following.check_dags(dags)
        _arguments.check_run_dag_arguments(
            dag,
            logical_date=logical_date,
            run_after=run_after,
            run_id=run_id,
            conf=conf,
            variables=variables,
            connections=connections,
        )
        _validate_run_params(dag, conf)
        run = RunInfo.manual(dag, logical_date=logical_date, run_after=run_after, run_id=run_id)
        deployment = self.store.channel().deployment
        run = following.prepare_run(run, dag, deployment, asset_events=asset_events, origin=_origin)
        runs_before, events_before = len(deployment.runs), len(deployment.assets.events)
        # As dag.test(): an earlier run at the same date is deleted, with its XComs, before this one.
        self.store.replace_run(run.dag_id, run.run_id, run.logical_date or run.run_after)
        comms = self.store.channel()
        dr = SchedulerDagRun(
            dag=dag, run=run, store=self.store, conf=conf, start_date=run.logical_date or run.run_after
        )
        self.store.record_dag_run(run.dag_id, run.run_id, dr)
        deployment.dag_runs[(run.dag_id, run.run_id)] = (run, conf, lambda: dr.state)
        dr.deadlines = create_deadlines(dr, dr.created)
        dr.verify_integrity(t for t in dag.task_dict.values() if _in_run(t, run))
        clock = triggerer.RunClock()
        order: list[tuple[str, int]] = []
        previous = comms.ti_count, comms.reschedule_start, comms.dag_run, comms.task_states
        comms.ti_count, comms.reschedule_start = dr.ti_count, clock.first_start
        comms.dag_run = (run.dag_id, run.logical_date)
        comms.task_states = functools.partial(task_states, dr, comms.task_states)
        follower = None
        if to_follow and _origin is None:
            follower = following.Follower(self, to_follow, deployment, comms, hitl_responses=hitl_responses)
            follower.start(run.dag_id, run.run_id)
        try:
            with (
                provided(comms, variables, connections),
                installed(comms),
                _following(deployment, follower),
                hitl.responses_given(comms, hitl_responses),
                examples_off(),
            ):
                callbacks = run_passes(dr, conf, clock, order)
        finally:
            comms.ti_count, comms.reschedule_start, comms.dag_run, comms.task_states = previous
        run_key = (run.dag_id, run.run_id)
        emitted = deployment.assets.events[events_before:]
        result = DagRunResult(
            dag_id=run.dag_id,
            run_id=run.run_id,
            logical_date=run.logical_date,
            data_interval=run.data_interval,
            state=dr.state,
            task_states={ti.key: (ti.state or "none") for ti in dr.get_task_instances()},
            xcoms={
                (r.task_id, r.map_index, r.key): r.value
                for r in self.store.records(dag_id=run.dag_id, run_id=run.run_id, keep_unreadable=True)
            },
            tasks={ti.key: ti.result for ti in dr.get_task_instances() if ti.result is not None},
            store=self.store,
            waiting=waiting(dr) if dr.state == RUNNING else {},
            dag_callbacks=callbacks,
            deadlines=dr.deadlines,
            triggered_runs=[r for r in deployment.runs[runs_before:] if r.parent == run_key],
            asset_events=[e for e in emitted if (e.dag_id, e.run_id) == run_key],
            dag=dag,
            order=order,
        )
        if follower is not None:
            with (
                installed(comms),
                _following(deployment, follower),
                hitl.responses_given(comms, hitl_responses),
            ):
                follower.after_run(result)
        self.store.note_result(result)
        return result


@contextlib.contextmanager
def _following(deployment: Deployment, follower: following.Follower | None) -> Iterator[None]:
    """Let tasks that wait for a triggered run have it followed, while the root run runs."""
    if follower is None:
        yield
        return
    saved = deployment.follow, deployment.followable
    deployment.follow, deployment.followable = follower.follow, follower.followable
    try:
        yield
    finally:
        deployment.follow, deployment.followable = saved


def task_states(dr: SchedulerDagRun, others: Any, msg: Any) -> dict[str, dict[str, Any]]:
    """GetTaskStates: {run_id: {task_id (or task_id_mapindex): state}} for the task instances asked for."""
    found: dict[str, dict[str, Any]] = dict(others(msg)) if others is not None else {}
    if msg.dag_id != dr.run.dag_id or (msg.run_ids and dr.run.run_id not in msg.run_ids):
        return found
    task_ids = set(msg.task_ids or [])
    if getattr(msg, "task_group_id", None):
        task_ids |= {t.task_id for t in dr.dag.task_group_dict[msg.task_group_id].iter_tasks()}
    states = found.setdefault(dr.run.run_id, {})
    for ti in dr.get_task_instances():
        if task_ids and ti.task_id not in task_ids:
            continue
        if msg.map_index is not None and ti.map_index != msg.map_index:
            continue
        states[ti.task_id if ti.map_index < 0 else f"{ti.task_id}_{ti.map_index}"] = ti.state
    return found


def run_dag(dag: Any, *, store: XComStore | None = None, **kwargs: Any) -> DagRunResult:
    """Run every task of ``dag`` in-process, as ``dag.test()`` would, without a metadata DB.

    Keyword arguments: ``logical_date`` (default: now), ``run_after``, ``run_id``, ``conf``,
    ``variables``, ``connections``, ``dags`` (DAGs whose triggered and asset-scheduled runs are followed),
    ``asset_events``, ``hitl_responses``. Uses its own store unless ``store`` is given.
    """
    return DagRunner(store if store is not None else XComStore())(dag, **kwargs)
