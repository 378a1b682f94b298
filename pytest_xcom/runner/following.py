"""Following a run's triggered and asset-scheduled DAG runs (``run_dag(..., dags=[...])``).

In a deployment the scheduler picks up what a run leaves behind: the runs its ``TriggerDagRunOperator``
tasks created, and the DAGs whose asset condition its asset events completed (the asset_dag_run_queue,
evaluated by ``AssetEvaluator`` as ``SchedulerJobRunner._create_dag_runs_asset_triggered`` does). A
:class:`Follower` does that, in memory, for the DAGs the test passes: after a run, its triggered runs
run (in the order they were triggered), then the asset-scheduled ones; each of those is followed the
same way. A task that waits for a triggered run (``wait_for_completion=True``) makes the follower run it
then, while the task waits.

Runs of DAGs not in ``dags`` are recorded (``TriggeredRun.result`` is None) and not run. A chain that
comes back to a DAG already in it, or grows past :data:`MAX_DEPTH`, is an error: in Airflow it would
never end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

from pytest_xcom import _compat, _msgs
from pytest_xcom.assets import asset_condition, condition_met
from pytest_xcom.context import RunInfo
from pytest_xcom.deployment import Deployment, TriggeredRun

__all__ = [
    "MAX_DEPTH",
    "FollowError",
    "Follower",
    "check_dags",
    "prepare_run",
    "waited_on_unfollowed",
    "waits_on_run_clock",
]

MAX_DEPTH = 16
"""How many runs deep a chain of triggered and asset-scheduled runs may go."""


class FollowError(RuntimeError):
    """Following the runs would not end: a DAG comes back in its own chain, or the chain is too deep."""


def check_dags(dags: Any) -> list[Any]:
    if dags is None:
        return []
    if isinstance(dags, _compat.DAG):
        dags = [dags]
    found = list(dags)
    for dag in found:
        if not isinstance(dag, _compat.DAG):
            raise TypeError(_msgs.not_a_dag_to_follow(dag))
    return found


def prepare_run(
    run: RunInfo, dag: Any, deployment: Deployment, *, asset_events: Any, origin: TriggeredRun | None
) -> RunInfo:
    """The run as the scheduler creates it: asset-triggered runs carry the events they consume.

    ``asset_events`` given to ``run_dag`` happened before the run; those on the assets an
    asset-scheduled DAG waits for are what its run consumes, as if the scheduler had created it for them.
    """
    deployment.assets.learn_dag(dag)
    deployment.dags.setdefault(dag.dag_id, dag)
    seeded = deployment.assets.seed(asset_events or {}, timestamp=_compat.timezone.utcnow())
    if origin is not None:
        consumed = origin.consumed_asset_events
    else:
        condition = asset_condition(dag)
        keys = {
            (row.name, row.uri) for obj in _assets_of(condition) for row in deployment.assets.resolve(obj)
        }
        consumed = tuple(
            e for e in seeded if (e.name, e.uri) in keys or set(e.source_aliases) & _aliases(condition)
        )
    if not consumed:
        return run
    return dataclasses.replace(
        run, run_type=_compat.DagRunType.ASSET_TRIGGERED.value, consumed_asset_events=tuple(consumed)
    )


def _assets_of(condition: Any) -> list[Any]:
    if condition is None:
        return []
    objects = getattr(condition, "objects", None)
    if objects is None:
        return [condition]
    return [leaf for obj in objects for leaf in _assets_of(obj)]


def _aliases(condition: Any) -> set[str]:
    return {obj.name for obj in _assets_of(condition) if type(obj).__name__ == "AssetAlias"}


class Follower:
    """Runs, for one test's run_dag call, the triggered and asset-scheduled runs of the DAGs given."""

    def __init__(
        self, run_dag: Any, dags: Iterable[Any], deployment: Deployment, comms: Any, **run_kwargs: Any
    ):
        self._run_dag = run_dag
        self.dags = {dag.dag_id: dag for dag in dags}
        self._deployment = deployment
        self._comms = comms
        self._run_kwargs = run_kwargs
        self._chains: dict[tuple[str, str], list[str]] = {}
        for dag in self.dags.values():
            deployment.assets.learn_dag(dag)
            deployment.dags.setdefault(dag.dag_id, dag)

    def followable(self, dag_id: str) -> bool:
        return dag_id in self.dags

    def start(self, dag_id: str, run_id: str) -> None:
        self._chains[(dag_id, run_id)] = [dag_id]

    def follow(self, triggered: TriggeredRun) -> None:
        """Run ``triggered`` now (if it is a DAG to follow and has not run), then what it leaves behind."""
        if triggered.result is not None or not self.followable(triggered.dag_id):
            return
        chain = [*self._chains.get(triggered.parent or ("", ""), []), triggered.dag_id]
        if triggered.dag_id in chain[:-1]:
            raise FollowError(_msgs.follow_cycle(chain))
        if len(chain) > MAX_DEPTH:
            raise FollowError(_msgs.follow_too_deep(chain, MAX_DEPTH))
        self._chains[(triggered.dag_id, triggered.run_id)] = chain
        # A run followed while a task waits for it must not disturb what that task's attempt recorded.
        saved_events = list(self._comms.events)
        try:
            triggered.result = self._run_dag(
                self.dags[triggered.dag_id],
                run_id=triggered.run_id,
                logical_date=triggered.logical_date,
                run_after=triggered.run_after,
                conf=triggered.conf,
                _origin=triggered,
                **self._run_kwargs,
            )
        finally:
            self._comms.events[:] = saved_events
        self.after_run(triggered.result)

    def after_run(self, result: Any) -> None:
        """Follow what a finished run left: its triggered runs, then the DAGs its asset events schedule."""
        for triggered in list(result.triggered_runs):
            self.follow(triggered)
        scheduled = self._schedule_on_assets(result)
        result.triggered_runs.extend(scheduled)
        for triggered in scheduled:
            self.follow(triggered)

    def _schedule_on_assets(self, result: Any) -> list[TriggeredRun]:
        """The asset_dag_run_queue: each event queues the DAGs scheduled on its asset; a DAG whose
        condition the queued assets meet gets a run, consuming the events since its last one."""
        table = self._deployment.assets
        created: list[TriggeredRun] = []
        for dag_id, dag in self.dags.items():
            condition = asset_condition(dag)
            if condition is None:
                continue
            watched = {(row.name, row.uri) for obj in _assets_of(condition) for row in table.resolve(obj)}
            aliases = _aliases(condition)
            queue = self._deployment.asset_queues.setdefault(dag_id, {})
            for event in result.asset_events:
                if (event.name, event.uri) in watched or set(event.source_aliases) & aliases:
                    queue[(event.name, event.uri)] = event.uri
            if not queue or not condition_met(condition, table, set(queue)):
                continue
            start = self._deployment.consumed_upto.get(dag_id, 0)
            consumed = tuple(e for e in table.events[start:] if (e.name, e.uri) in queue)
            self._deployment.consumed_upto[dag_id] = len(table.events)
            last = consumed[-1].uri if consumed else None
            queue.clear()
            run_after = _compat.timezone.utcnow()
            triggered = TriggeredRun(
                dag_id=dag_id,
                run_id=self._asset_run_id(dag_id, run_after),
                conf={},
                logical_date=None,
                run_after=run_after,
                triggered_by=last,
                parent=(result.dag_id, result.run_id),
                consumed_asset_events=consumed,
            )
            self._deployment.runs.append(triggered)
            created.append(triggered)
        return created

    def _asset_run_id(self, dag_id: str, run_after: Any) -> str:
        # Airflow adds a random suffix to a run without a logical date; a counter keeps tests repeatable.
        base = f"{_compat.DagRunType.ASSET_TRIGGERED.value}__{run_after.isoformat()}"
        run_id, n = base, 0
        while self._deployment.find_run(dag_id, run_id) is not None:
            n += 1
            run_id = f"{base}_{n}"
        return run_id


def waited_on_unfollowed(run: TriggeredRun) -> tuple[str, dict]:
    """How a task deferred to wait for a run that is not followed resumes: with a trigger failure that
    says to pass the DAG (in Airflow it would wait until the scheduler ran it)."""
    message = _msgs.waits_on_unfollowed_run(run.dag_id, run.run_id, run.triggered_by)
    # The failure's error is what TaskDeferralError says: the message, not only "Trigger failure".
    failure = {"error": message, "traceback": [message]}
    return _compat.TRIGGER_FAIL_REPR, _compat.stored_next_kwargs(failure)


class _TaskRunnerTime:
    """The task runner's ``time`` module, with ``sleep`` moving the calling thread's run clock instead of
    waiting (threads may run tasks at once, each on its own run's clock)."""

    def __init__(self) -> None:
        self.clocks = threading.local()

    def sleep(self, seconds: float) -> None:
        stack = getattr(self.clocks, "stack", None)
        if not stack:
            time.sleep(seconds)
            return
        stack[-1].advance(timedelta(seconds=seconds))

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


_TIME = _TaskRunnerTime()
_time_lock = threading.Lock()
_time_users = 0


@contextlib.contextmanager
def waits_on_run_clock(clock: Any) -> Iterator[None]:
    """A ``TriggerDagRunOperator(wait_for_completion=True)`` polls the run's state between sleeps of
    ``poke_interval`` in the task runner; here each sleep moves the run's clock (the triggered run has
    been followed, or the poll fails, by the first poll)."""
    global _time_users
    module = _compat.task_runner
    with _time_lock:
        if _time_users == 0:
            module.time = _TIME  # type: ignore[attr-defined]
        _time_users += 1
    stack = _TIME.clocks.__dict__.setdefault("stack", [])
    stack.append(clock)
    try:
        yield
    finally:
        stack.pop()
        with _time_lock:
            _time_users -= 1
            if _time_users == 0:
                module.time = time  # type: ignore[attr-defined]
