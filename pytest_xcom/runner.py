"""Running tasks and whole DAGs in-process: Airflow's task runner, with the scheduler's part done here.

Each task instance runs through ``_compat.task_runner.run()`` and ``finalize()`` exactly as a worker runs it
(template rendering, XComArg resolution, pre/execute/post, the return-value push, callbacks). What the
API server and scheduler would decide (trigger rules, skips, upstream_failed, retries, how many
instances a mapped task expands into, the DAG run's final state) is ported from Airflow's scheduler code
(``TriggerRuleDep``, ``DagRun.update_state``, ``get_mapped_ti_count``) to work on the in-memory run.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pytest_xcom import _compat
from pytest_xcom._process import worker_globals_restored
from pytest_xcom.comms import InMemorySupervisorComms, installed
from pytest_xcom.context import RunInfo, TaskContextFactory, make_task_instance
from pytest_xcom.store import RETURN_KEY, XComStore

__all__ = ["DagRunResult", "DagRunner", "TaskRunResult", "TaskRunner", "run_dag", "run_task"]

SUCCESS, FAILED, SKIPPED = "success", "failed", "skipped"
UPSTREAM_FAILED, REMOVED, UP_FOR_RETRY = "upstream_failed", "removed", "up_for_retry"
DEFERRED = "deferred"
FINISHED = frozenset({SUCCESS, FAILED, SKIPPED, UPSTREAM_FAILED, REMOVED})
_FAILED_STATES = frozenset({FAILED, UPSTREAM_FAILED})
_SUCCESS_STATES = frozenset({SUCCESS, SKIPPED})
TR = _compat.TriggerRule


@dataclass
class TaskRunResult:
    """What one task instance did: its final state, what it returned and pushed, what it raised."""

    task_id: str
    map_index: int
    state: str
    return_value: Any
    xcoms: dict[str, Any]
    error: BaseException | None
    try_number: int
    ti: Any = field(repr=False)

    @property
    def ok(self) -> bool:
        return self.state == SUCCESS


@dataclass
class DagRunResult:
    """What a DAG run did: its state, every task instance's state, and every XCom pushed."""

    dag_id: str
    run_id: str
    logical_date: datetime | None
    data_interval: tuple[datetime, datetime] | None
    state: str
    task_states: dict[tuple[str, int], str]
    xcoms: dict[tuple[str, int, str], Any]
    tasks: dict[tuple[str, int], TaskRunResult] = field(repr=False)
    store: XComStore = field(repr=False)

    def __getitem__(self, task_id: str) -> TaskRunResult:
        """The result of an unmapped task (``result["extract"].return_value``)."""
        try:
            return self.tasks[(task_id, -1)]
        except KeyError:
            ran = sorted({t for t, _ in self.tasks})
            raise KeyError(f"task {task_id!r} did not run unmapped in this DAG run; ran: {ran}") from None


# -- one attempt of one task instance -----------------------------------------------------------------


def _attempt(ti: Any) -> tuple[str, BaseException | None]:
    """Run one try of ``ti`` as a worker's main() does; the comms channel must be installed."""
    import structlog

    log = structlog.get_logger(logger_name="task")
    with worker_globals_restored():
        try:
            context = ti.get_template_context()
        except Exception as startup_error:
            # A worker that fails before run() (e.g. params validation) exits non-zero without
            # reporting a state; the supervisor then reports up_for_retry when retries remain.
            should_retry = ti._ti_context_from_server.should_retry
            return (UP_FOR_RETRY if should_retry else FAILED), startup_error
        state, _, error = _compat.task_runner.run(ti, context, log)
        context["exception"] = error
        _compat.task_runner.finalize(ti, state, context, log, error)
    return _compat.TaskInstanceState(state).value, error


def _keys_to_clear(store: XComStore, run: RunInfo, task_id: str, map_index: int) -> list[str]:
    # The API server tells a starting task to clear what it pushed before (a retry, a re-run).
    idents = store.identities(
        dag_id=run.dag_id, run_id=run.run_id, task_id=task_id, map_index=None if map_index < 0 else map_index
    )
    return sorted({ident.key for ident in idents})


def _run_ti(
    task: Any,
    run: RunInfo,
    store: XComStore,
    *,
    conf: dict | None,
    map_index: int,
    try_number: int,
    resume: tuple[str, dict] | None = None,
) -> TaskRunResult:
    ti = make_task_instance(
        task,
        run,
        conf=conf,
        map_index=map_index,
        try_number=try_number,
        # The server clears a task's earlier XComs when it starts, but not when it resumes.
        xcom_keys_to_clear=[] if resume else _keys_to_clear(store, run, task.task_id, map_index),
        resume=resume,
    )
    state, error = _attempt(ti)
    records = store.records(dag_id=run.dag_id, run_id=run.run_id, task_id=task.task_id, map_index=map_index)
    pushed = {r.key: r.value for r in records}
    return TaskRunResult(
        task_id=task.task_id,
        map_index=map_index,
        state=state,
        return_value=pushed.get(RETURN_KEY),
        xcoms=pushed,
        error=error,
        try_number=try_number,
        ti=ti,
    )


def _fire_trigger(defer: Any) -> tuple[str, dict]:
    """Run a deferred task's trigger to its first event; what the task resumes with (dag.test()'s way)."""
    import asyncio

    trigger_kwargs: Any = _compat.trigger_kwargs(defer.trigger_kwargs)
    trigger = _compat.import_string(defer.classpath)(**trigger_kwargs)

    async def first_event() -> Any:
        return await anext(trigger.run(), None)

    event = asyncio.run(first_event())
    next_kwargs = _compat.resume_kwargs(event.payload) if event else defer.next_kwargs
    return defer.next_method, next_kwargs


def _as_operator(task: Any) -> Any:
    if isinstance(task, _compat.XComArg):  # a called @task function
        return task.operator  # type: ignore[attr-defined]
    if callable(task) and hasattr(task, "function") and not hasattr(task, "task_id"):
        raise TypeError(
            f"{task!r} is a @task-decorated function, not a task: call it (inside a DAG, with its "
            "arguments) and pass what the call returns."
        )
    return task


def _as_connection_fields(conn_id: str, conn: Any) -> dict[str, Any]:
    if isinstance(conn, str):
        conn = _compat.Connection.from_uri(conn, conn_id=conn_id)
    elif isinstance(conn, Mapping):
        conn = _compat.Connection(conn_id=conn_id, **conn)
    return {
        "conn_type": conn.conn_type,
        "host": conn.host,
        "schema": conn.schema,
        "login": conn.login,
        "password": conn.password,
        "port": conn.port,
        "extra": conn.extra,
    }


def _provide(comms: InMemorySupervisorComms, variables: Mapping | None, connections: Mapping | None) -> None:
    import json

    for key, value in (variables or {}).items():
        # Variables are stored as text; a non-string value is stored as JSON, as `Variable.set` does.
        comms.variables[key] = value if isinstance(value, str) else json.dumps(value)
    for conn_id, conn in (connections or {}).items():
        comms.connections[conn_id] = _as_connection_fields(conn_id, conn)


# -- run_task ---------------------------------------------------------------------------------------


@dataclass
class TaskRunner:
    """Runs one task through Airflow's task runner, reading upstream XComs from the test's store."""

    contexts: TaskContextFactory

    def __call__(
        self,
        task: Any,
        *,
        logical_date: datetime | date | str | None = None,
        run_after: datetime | date | str | None = None,
        run_id: str | None = None,
        conf: dict[str, Any] | None = None,
        map_index: int = -1,
        try_number: int = 1,
        variables: Mapping[str, Any] | None = None,
        connections: Mapping[str, Any] | None = None,
    ) -> TaskRunResult:
        operator = _as_operator(task)
        if not operator.has_dag():
            self.contexts.standin_dag().add_task(operator)
        store = self.contexts.store
        comms = store.channel()
        _provide(comms, variables, connections)
        run = self.contexts.run_for(operator.dag, logical_date, run_after, run_id)
        with installed(comms):
            return _run_ti(operator, run, store, conf=conf, map_index=map_index, try_number=try_number)


def run_task(task: Any, *, store: XComStore | None = None, **kwargs: Any) -> TaskRunResult:
    """Run one task (an operator, or what a call of a ``@task`` function returns) in-process.

    Upstream XComs are read from ``store`` (seed them with ``store.seed``); a fresh store is used when
    none is given. Keyword arguments: ``logical_date``, ``run_after``, ``run_id``, ``conf``,
    ``map_index``, ``try_number``, ``variables``, ``connections``. One attempt is made: a failing
    task with retries left reports ``up_for_retry``, as Airflow does.
    """
    contexts = TaskContextFactory(store=store if store is not None else XComStore())
    try:
        return TaskRunner(contexts)(task, **kwargs)
    finally:
        contexts.close()


# -- run_dag: the scheduler's part --------------------------------------------------------------------


class _Pending(Exception):
    """A mapped task's length is not known yet (its upstreams have not all finished)."""


@dataclass
class _DagRunState:
    """The in-memory equivalent of a dag run's task_instance rows."""

    dag: Any
    run: RunInfo
    store: XComStore
    conf: dict | None
    states: dict[tuple[str, int], str | None] = field(default_factory=dict)
    results: dict[tuple[str, int], TaskRunResult] = field(default_factory=dict)

    def tis_of(self, task_id: str) -> list[tuple[tuple[str, int], str | None]]:
        return [(key, state) for key, state in self.states.items() if key[0] == task_id]

    # - how many instances a mapped task has (get_mapped_ti_count) -

    def xcom_arg_length(self, arg: Any) -> int:
        if isinstance(arg, _compat.MapXComArg):
            return self.xcom_arg_length(arg.arg)
        if isinstance(arg, _compat.ZipXComArg):
            lengths = [self.xcom_arg_length(a) for a in arg.args]
            return max(lengths) if _compat.is_arg_set(arg.fillvalue) else min(lengths)
        if isinstance(arg, _compat.ConcatXComArg):
            return sum(self.xcom_arg_length(a) for a in arg.args)
        if not isinstance(arg, _compat.PlainXComArg):  # pragma: no cover - a new XComArg kind
            raise NotImplementedError(f"cannot tell the length of {type(arg).__name__}")
        upstream = arg.operator
        if upstream.get_needs_expansion():
            tis = self.tis_of(upstream.task_id)
            if any(state not in FINISHED for _, state in tis):
                raise _Pending(upstream.task_id)
            idents = self.store.identities(
                dag_id=self.run.dag_id, run_id=self.run.run_id, task_id=upstream.task_id
            )
            return sum(1 for ident in idents if ident.map_index >= 0 and ident.key == RETURN_KEY)
        length = self.store.task_maps.get((self.run.dag_id, self.run.run_id, upstream.task_id, -1))
        if length is None:
            raise _Pending(upstream.task_id)
        return length

    def expand_input_length(self, expand_input: Any) -> int:
        def length(value: Any) -> int:
            return self.xcom_arg_length(value) if isinstance(value, _compat.XComArg) else len(value)

        if isinstance(expand_input, _compat.DictOfListsExpandInput):
            if not expand_input.value:
                return 0
            return functools.reduce(lambda a, b: a * b, (length(v) for v in expand_input.value.values()), 1)
        return length(expand_input.value)  # expand_kwargs(): one instance per dict

    def mapped_ti_count(self, node: Any) -> int:
        if isinstance(node, _compat.MappedTaskGroup):
            count = self.expand_input_length(node._expand_input)
        elif node.is_mapped:
            count = self.expand_input_length(node._get_specified_expand_input())
        else:
            count = 1
        group = node.task_group if not isinstance(node, _compat.MappedTaskGroup) else node.parent_group
        while group is not None and not isinstance(group, _compat.MappedTaskGroup):
            group = group.parent_group
        if group is None:
            return count
        return count * self.mapped_ti_count(group)

    def ti_count(self, msg: Any) -> int:
        """Answer GetTICount, as the API server counts task_instance rows."""
        task_ids = set(msg.task_ids or [])
        if msg.task_group_id:
            group = self.dag.task_group_dict[msg.task_group_id]
            task_ids |= {t.task_id for t in group.iter_tasks()}
        return sum(
            1
            for (task_id, map_index), state in self.states.items()
            if task_id in task_ids
            and (msg.map_index is None or map_index == msg.map_index)
            and (not msg.states or state in msg.states)
        )

    # - the trigger rule (TriggerRuleDep with flag_upstream_failed) -

    def relevant_upstream_states(self, key: tuple[str, int], upstream_ids: set[str]) -> tuple[list, int]:
        """States of the finished relevant upstream instances, and how many relevant ones exist."""
        task_id, map_index = key
        task = self.dag.task_dict[task_id]
        in_mapped_group = task.get_closest_mapped_task_group() is not None
        finished: list[tuple[Any, str]] = []
        count = 0
        for upstream_id in upstream_ids:
            relevant: Any = None
            if in_mapped_group and map_index >= 0:
                with contextlib.suppress(_Pending):
                    relevant = _compat.get_relevant_map_indexes(
                        task,
                        self.run.run_id,
                        map_index,
                        self.mapped_ti_count(task),
                        self.dag.task_dict[upstream_id],
                        self.dag.dag_id,
                    )
            for (uid, umi), state in self.tis_of(upstream_id):
                if relevant is not None and umi >= 0:
                    wanted = relevant if isinstance(relevant, range) else (relevant,)
                    if umi not in wanted:
                        continue
                count += 1
                if state in FINISHED:
                    finished.append((self.dag.task_dict[uid], state))
        return finished, count

    def evaluate(self, key: tuple[str, int]) -> str | None:
        """'run' when ``key`` may run now, a state to set, or None to wait."""
        task = self.dag.task_dict[key[0]]
        if not task.upstream_task_ids and not list(task.get_upstreams_only_setups()):
            return "run"
        if task.trigger_rule == TR.ALWAYS:
            return "run"
        if not task.is_teardown:
            setups = {t.task_id for t in task.get_upstreams_only_setups()} - set(task.upstream_task_ids)
            if setups:
                verdict = self._setup_constraint(key, setups)
                if verdict != "run":
                    return verdict
            if not task.upstream_task_ids:
                return "run"
        verdict = self._direct_relatives(key, task)
        if verdict == "run" and task.is_teardown and not self._teardown_scope_done(task):
            return None
        return verdict

    def _setup_constraint(self, key: tuple[str, int], setups: set[str]) -> str | None:
        finished, upstream = self.relevant_upstream_states(key, setups)
        states = [s for _, s in finished]
        if UPSTREAM_FAILED in states or FAILED in states:
            return UPSTREAM_FAILED
        if SKIPPED in states:
            return SKIPPED
        return "run" if states.count(SUCCESS) >= upstream else None

    def _teardown_scope_done(self, task: Any) -> bool:
        setup_ids = {t.task_id for t in task.upstream_list if t.is_setup}
        indirect = task.get_flat_relative_ids(upstream=True) - set(task.upstream_task_ids)
        in_scope = set()
        for setup_id in setup_ids:
            in_scope |= indirect & self.dag.task_dict[setup_id].get_flat_relative_ids(upstream=False)
        return all(state in FINISHED for tid in in_scope for _, state in self.tis_of(tid))

    def _direct_relatives(self, key: tuple[str, int], task: Any) -> str | None:
        finished, upstream = self.relevant_upstream_states(key, set(task.upstream_task_ids))
        states = [s for _, s in finished]
        success, skipped, failed = states.count(SUCCESS), states.count(SKIPPED), states.count(FAILED)
        upstream_failed, removed, done = states.count(UPSTREAM_FAILED), states.count(REMOVED), len(states)
        upstream_setup = sum(
            1 for tid in task.upstream_task_ids if self.dag.task_dict[tid].is_setup for _ in self.tis_of(tid)
        )
        success_setup = sum(1 for t, s in finished if t.is_setup and s == SUCCESS)
        skipped_setup = sum(1 for t, s in finished if t.is_setup and s == SKIPPED)
        upstream_done = done >= upstream
        rule = task.trigger_rule
        map_index = key[1]

        # The states the scheduler sets instead of running the task.
        if rule == TR.ALL_SUCCESS:
            if upstream_failed or failed:
                return UPSTREAM_FAILED
            if skipped:
                return SKIPPED
            if removed and success and map_index > -1 and map_index >= success:
                return REMOVED
        elif rule == TR.ALL_FAILED:
            if success or skipped:
                return SKIPPED
        elif rule == TR.ONE_SUCCESS:
            if upstream_done and done == skipped:
                return SKIPPED
            if upstream_done and success <= 0:
                return UPSTREAM_FAILED
        elif rule == TR.ONE_FAILED:
            if upstream_done and not (failed or upstream_failed):
                return SKIPPED
        elif rule == TR.ONE_DONE:
            if upstream_done and not (failed or success):
                return SKIPPED
        elif rule == TR.NONE_FAILED:
            if upstream_failed or failed:
                return UPSTREAM_FAILED
        elif rule == TR.NONE_FAILED_MIN_ONE_SUCCESS:
            if upstream_failed or failed:
                return UPSTREAM_FAILED
            if skipped == upstream:
                return SKIPPED
            if upstream_done and success == 0:
                return UPSTREAM_FAILED
        elif rule == TR.NONE_SKIPPED:
            if skipped:
                return SKIPPED
        elif rule == TR.ALL_SKIPPED:
            if success or failed or upstream_failed:
                return SKIPPED
        elif rule == TR.ALL_DONE_MIN_ONE_SUCCESS:
            if skipped > 0:
                return SKIPPED
            if success + failed + upstream_failed + removed >= upstream - skipped and success == 0:
                return UPSTREAM_FAILED
        elif rule == TR.ALL_DONE_SETUP_SUCCESS:
            if upstream_done and upstream_setup and skipped_setup >= upstream_setup:
                return SKIPPED
            if upstream_done and upstream_setup and success_setup == 0:
                return UPSTREAM_FAILED

        # Otherwise: is the rule met yet?
        met = {
            TR.ONE_SUCCESS: success > 0,
            TR.ONE_FAILED: bool(failed or upstream_failed),
            TR.ONE_DONE: success + failed > 0,
            TR.ALL_SUCCESS: upstream - success - removed <= 0,
            TR.ALL_FAILED: upstream - failed - upstream_failed - removed <= 0,
            TR.ALL_DONE: upstream_done,
            TR.NONE_FAILED: upstream - success - skipped - removed <= 0,
            TR.NONE_FAILED_MIN_ONE_SUCCESS: upstream - success - skipped - removed <= 0 and success > 0,
            TR.NONE_SKIPPED: upstream_done and skipped == 0,
            TR.ALL_SKIPPED: upstream - skipped <= 0,
            TR.ALL_DONE_SETUP_SUCCESS: upstream_done and not (upstream_setup and not success_setup),
            TR.ALL_DONE_MIN_ONE_SUCCESS: skipped == 0
            and success + failed + upstream_failed >= upstream - skipped - removed
            and success > 0,
        }.get(rule)
        if met is None:
            raise ValueError(f"pytest_xcom cannot evaluate trigger rule {rule!r} of task {task.task_id!r}")
        return "run" if met else None

    # - the loop -

    def expand(self, key: tuple[str, int]) -> None:
        """Create the instances of a mapped task (or a task in a mapped group) whose upstreams are done."""
        count = self.mapped_ti_count(self.dag.task_dict[key[0]])
        if count == 0:
            self.states[key] = SKIPPED  # a zero-length expansion skips the task
            return
        del self.states[key]
        for i in range(count):
            self.states[(key[0], i)] = None

    def run_one(self, key: tuple[str, int]) -> None:
        task = self.dag.task_dict[key[0]]
        comms = self.store.channel()
        try_number, resume = 1, None
        while True:
            comms.events.clear()
            result = _run_ti(
                task,
                self.run,
                self.store,
                conf=self.conf,
                map_index=key[1],
                try_number=try_number,
                resume=resume,
            )
            defer = next((m for m in comms.events if type(m).__name__ == "DeferTask"), None)
            if result.state == DEFERRED and defer is not None:
                resume = _fire_trigger(defer)  # as dag.test() runs triggers in line
                continue
            if result.state != UP_FOR_RETRY:
                break
            try_number, resume = try_number + 1, None  # retry at once: no reason to wait out retry_delay
        self.states[key] = result.state
        self.results[key] = result
        self._apply_skips(comms.events)

    def _apply_skips(self, events: list[Any]) -> None:
        # Branching and short-circuit operators ask the server to skip downstream instances that have
        # not started (the API server leaves running, successful and failed ones alone).
        for msg in events:
            if type(msg).__name__ != "SkipDownstreamTasks":
                continue
            for item in msg.tasks:
                task_id, map_index = (item, -1) if isinstance(item, str) else tuple(item)
                for key, state in self.tis_of(task_id):
                    if key[1] == map_index and state not in (SUCCESS, FAILED):
                        self.states[key] = SKIPPED

    def step(self) -> bool:
        """One scheduling pass; False when nothing could change."""
        progressed = False
        for task in self.dag.topological_sort():
            for key, state in self.tis_of(task.task_id):
                if state is not None or key not in self.states:
                    continue
                try:
                    verdict = self.evaluate(key)
                except _Pending:
                    verdict = None
                if verdict is None:
                    continue
                if verdict == "run" and key[1] < 0 and task.get_needs_expansion():
                    try:
                        self.expand(key)
                    except _Pending:
                        continue
                elif verdict == "run":
                    self.run_one(key)
                else:
                    self.states[key] = verdict
                progressed = True
        return progressed

    def final_state(self) -> str:
        def is_effective_leaf(task: Any) -> bool:
            for down_id in task.downstream_task_ids:
                down = self.dag.task_dict[down_id]
                if not down.is_teardown or down.on_failure_fail_dagrun:
                    return False
            return not task.is_teardown or task.on_failure_fail_dagrun

        leaves = {t.task_id for t in self.dag.tasks if is_effective_leaf(t)} or {
            t.task_id for t in self.dag.tasks if not t.downstream_list
        }
        leaf_states = [s for (tid, _), s in self.states.items() if tid in leaves and s != REMOVED]
        if any(s not in FINISHED for s in self.states.values()):
            return FAILED  # deadlock: unfinished instances that can never run
        if any(s in _FAILED_STATES for s in leaf_states):
            return FAILED
        return SUCCESS if all(s in _SUCCESS_STATES for s in leaf_states) else FAILED


def _validate_run_params(dag: Any, conf: dict | None) -> None:
    """Refuse to create the run, as Airflow's create_dagrun does, when conf and the DAG's params fail."""
    import copy

    merged = copy.deepcopy(dag.params)
    for key, value in (conf or {}).items():
        if key in merged:
            merged.get_param(key).value = value
        else:
            merged[key] = value
    merged.validate()


def _in_run(task: Any, run: RunInfo) -> bool:
    # A run gets no instance of a task whose start_date is after, or end_date before, its logical date.
    when = run.logical_date
    if when is None:
        return True
    return (task.start_date is None or task.start_date <= when) and (
        task.end_date is None or when <= task.end_date
    )


@dataclass
class DagRunner:
    """Runs every task of a DAG in dependency order, doing the scheduler's part in memory."""

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
    ) -> DagRunResult:
        _validate_run_params(dag, conf)
        run = RunInfo.manual(dag, logical_date=logical_date, run_after=run_after, run_id=run_id)
        self.store.bind_run(run.dag_id, run.run_id, run.logical_date or run.run_after)
        comms = self.store.channel()
        _provide(comms, variables, connections)
        state = _DagRunState(dag=dag, run=run, store=self.store, conf=conf)
        state.states = {(t.task_id, -1): None for t in dag.tasks if _in_run(t, run)}
        previous_ti_count, comms.ti_count = comms.ti_count, state.ti_count
        try:
            with installed(comms):
                while state.step():
                    pass
        finally:
            comms.ti_count = previous_ti_count
        return DagRunResult(
            dag_id=run.dag_id,
            run_id=run.run_id,
            logical_date=run.logical_date,
            data_interval=run.data_interval,
            state=state.final_state(),
            task_states={k: (s or "none") for k, s in state.states.items()},
            xcoms={
                (r.task_id, r.map_index, r.key): r.value
                for r in self.store.records(dag_id=run.dag_id, run_id=run.run_id)
            },
            tasks=state.results,
            store=self.store,
        )


def run_dag(dag: Any, *, store: XComStore | None = None, **kwargs: Any) -> DagRunResult:
    """Run every task of ``dag`` in-process, as ``dag.test()`` would, without a metadata DB.

    Keyword arguments: ``logical_date`` (default: now), ``run_after``, ``run_id``, ``conf``,
    ``variables``, ``connections``. Uses its own store unless ``store`` is given.
    """
    return DagRunner(store if store is not None else XComStore())(dag, **kwargs)
