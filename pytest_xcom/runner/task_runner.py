"""One task instance through Airflow's task runner, as a worker runs it; and ``run_task``.

:func:`_attempt` is one try (``task_runner.run`` + ``finalize``); :func:`run_task_instance` is dag.test()'s
``_run_task``: a try, and a deferred task's trigger run in line and the task resumed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pytest_xcom import _arguments, _compat, _msgs, config, hitl, logs, triggerer
from pytest_xcom._process import worker_globals_restored
from pytest_xcom.comms import InMemorySupervisorComms, installed
from pytest_xcom.context import RunInfo, TaskContextFactory, make_task_instance
from pytest_xcom.deployment import RunningTask
from pytest_xcom.logs import TaskLogs
from pytest_xcom.render import RenderedFields
from pytest_xcom.runner import following
from pytest_xcom.runner.results import TaskRunResult
from pytest_xcom.runner.states import DEFERRED, FAILED, UP_FOR_RETRY
from pytest_xcom.secrets import as_connection_fields, as_variable_text
from pytest_xcom.store import RETURN_KEY, XComStore
from pytest_xcom.supervisor import child_sockets

__all__ = ["TaskRunner", "run_task", "run_task_instance"]

AWAITING_INPUT = "awaiting_input"  # Airflow 3.3's state of a HITL task waiting for a person


def _attempt(ti: Any) -> tuple[str, BaseException | None]:
    """Run one try of ``ti`` as a worker's main() does; the comms channel must be installed."""
    import structlog

    log = structlog.get_logger(logger_name="task")
    with worker_globals_restored(), child_sockets(ti.task):
        try:
            context = ti.get_template_context()
        except Exception as startup_error:
            # A worker that fails before run() (e.g. params validation) exits non-zero without
            # reporting a state; the supervisor then reports up_for_retry when retries remain.
            should_retry = ti._ti_context_from_server.should_retry
            return (UP_FOR_RETRY if should_retry else FAILED), startup_error
        try:
            state, _, error = _compat.task_runner.run(ti, context, log)
        except Exception as crash:
            # An error raised while run() handles an outcome (Airflow 3.0's wait for a triggered run)
            # ends the worker without a state; the supervisor then reports it as a failed start.
            should_retry = ti._ti_context_from_server.should_retry
            # Airflow 3.2's run() then fails on its own unset state (UnboundLocalError); the error
            # from the server that started it is the one that says what happened.
            cause = crash.__context__
            return (UP_FOR_RETRY if should_retry else FAILED), (
                cause if isinstance(cause, _compat.AirflowRuntimeError) else crash
            )
        context["exception"] = error
        _compat.task_runner.finalize(ti, state, context, log, error)
    return _compat.TaskInstanceState(state).value, error


_LOAD_EXAMPLES = "core.load_examples"


def examples_off() -> contextlib.AbstractContextManager[Any]:
    """``[core] load_examples`` off while a task runs, unless the environment or the test set it.

    Airflow loads its plugins once per process, when a task first asks for its listeners and macros; at
    the option's default (on) that adds the example plugins, whose listener logs every task at length.
    """
    if config.is_set(_LOAD_EXAMPLES):
        return contextlib.nullcontext()
    return config.overridden({_LOAD_EXAMPLES: False})


def _keys_to_clear(store: XComStore, run: RunInfo, task_id: str, map_index: int) -> list[str]:
    # The API server tells a starting task to clear what it pushed before (a retry, a re-run).
    idents = store.identities(
        dag_id=run.dag_id, run_id=run.run_id, task_id=task_id, map_index=None if map_index < 0 else map_index
    )
    return sorted({ident.key for ident in idents})


def run_task_instance(
    task: Any,
    run: RunInfo,
    store: XComStore,
    *,
    conf: dict | None,
    map_index: int,
    try_number: int,
    dag_version_id: Any = None,
    run_triggers: bool = True,
    clock: triggerer.RunClock | None = None,
    reschedule_count: int = 0,
) -> tuple[TaskRunResult, list[Any]]:
    """One try of one task instance; its result and the messages it sent about its outcome (skips of
    downstream tasks, retry). With ``run_triggers`` a deferred task's trigger runs in line and the task
    resumes, as in dag.test(), on the run's ``clock`` (which the trigger's waits move)."""
    comms = store.channel()
    events: list[Any] = []
    resume: tuple[str, dict] | None = None
    log_lines: list[bytes] = []  # the try's, across a deferral (the trigger logs to the triggerer)
    emitted_before = len(comms.deployment.assets.events)
    run_clock = clock if clock is not None else triggerer.RunClock()
    running = RunningTask(run.dag_id, run.run_id, task.task_id, map_index)
    with comms.deployment.task_running(running):
        while True:
            comms.events.clear()
            try:
                ti = make_task_instance(
                    task,
                    run,
                    conf=conf,
                    map_index=map_index,
                    try_number=try_number,
                    dag_version_id=dag_version_id,
                    # The server clears a task's earlier XComs when it starts, but not when it resumes.
                    xcom_keys_to_clear=[] if resume else _keys_to_clear(store, run, task.task_id, map_index),
                    resume=resume,
                )
            except _compat.StartRefused as refused:
                # dag.test() marks the instance failed, without a retry; the task never ran.
                never_ran = TaskRunResult(
                    task.task_id, map_index, FAILED, None, {}, refused.error, try_number, ti=None
                )
                return never_ran, []
            triggerer.set_reschedule_count(ti, reschedule_count)
            with following.waits_on_run_clock(run_clock), logs.captured() as attempt_lines:
                state, error = _attempt(ti)
            log_lines += attempt_lines
            events.extend(comms.events)
            defer = next((m for m in comms.events if type(m).__name__ == "DeferTask"), None)
            awaiting = next((m for m in comms.events if type(m).__name__ == "AwaitInputTask"), None)
            # A human response the test gave resumes a HITL task in run_task too, as a person would.
            answered = hitl.answers(comms, task.task_id)
            if awaiting is not None and state == AWAITING_INPUT and (run_triggers or answered):
                resume = hitl.resume_awaiting(comms.deployment, ti, awaiting, run_clock)
                continue
            if (run_triggers or answered) and state == DEFERRED and defer is not None:
                # As dag.test() runs triggers in line; a wait moves the run's clock instead of sleeping.
                unfollowed = comms.deployment.follow_runs_of(running)
                if unfollowed and defer.classpath.endswith(".DagStateTrigger"):
                    resume = following.waited_on_unfollowed(unfollowed[0])
                    continue
                hitl.check_trigger_ends(defer, task.task_id, answered)
                resume = triggerer.fire_trigger(defer, run_clock)
                continue
            break
    records = store.records(
        dag_id=run.dag_id, run_id=run.run_id, task_id=task.task_id, map_index=map_index, keep_unreadable=True
    )
    pushed = {r.key: r.value for r in records}
    result = TaskRunResult(
        rendered=_rendered(ti, events),
        task_id=task.task_id,
        map_index=map_index,
        state=state,
        return_value=pushed.get(RETURN_KEY),
        xcoms=pushed,
        error=error,
        try_number=try_number,
        ti=ti,
        logs=TaskLogs(log_lines),
        asset_events=[
            e
            for e in comms.deployment.assets.events[emitted_before:]
            if (e.dag_id, e.run_id, e.task_id, e.map_index) == running
        ],
    )
    return result, events


def _rendered(ti: Any, events: list[Any]) -> dict[str, Any]:
    """The template fields as rendered before ``execute``, from the task's last SetRenderedFields.

    The last one counts: ``finalize`` sends them again when ``overwrite_rtif_after_execution`` is set.
    The task runner has by then replaced ``ti.task`` with its rendered (unmapped) copy.
    """
    sent = [m for m in events if type(m).__name__ == "SetRenderedFields"]
    if not sent:
        return {}
    values = {name: getattr(ti.task, name) for name in ti.task.template_fields}
    return RenderedFields(values, sent[-1].rendered_fields, ti.task)


def _as_operator(task: Any) -> Any:
    if isinstance(task, _compat.XComArg):  # a called @task function
        return task.operator  # type: ignore[attr-defined]
    if callable(task) and hasattr(task, "function") and not hasattr(task, "task_id"):
        raise TypeError(
            f"{task!r} is a @task-decorated function, not a task: call it (inside a DAG, with its "
            "arguments) and pass what the call returns."
        )
    return task


_ABSENT: Any = object()


@contextmanager
def provided(
    comms: InMemorySupervisorComms, variables: Mapping | None, connections: Mapping | None
) -> Iterator[None]:
    """Give the tasks of one call these variables and connections; what was there before comes back."""
    given_vars = {key: as_variable_text(value) for key, value in (variables or {}).items()}
    given_conns = {conn_id: as_connection_fields(conn_id, c) for conn_id, c in (connections or {}).items()}
    saved_vars = {key: comms.variables.get(key, _ABSENT) for key in given_vars}
    saved_conns = {key: comms.connections.get(key, _ABSENT) for key in given_conns}
    comms.variables.update(given_vars)
    comms.connections.update(given_conns)
    try:
        yield
    finally:
        for table, saved in ((comms.variables, saved_vars), (comms.connections, saved_conns)):
            for key, value in saved.items():
                if value is _ABSENT:
                    table.pop(key, None)
                else:
                    table[key] = value


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
        asset_events: Mapping[Any, Any] | None = None,
        hitl_responses: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> TaskRunResult:
        _arguments.check_run_task_arguments(
            task,
            logical_date=logical_date,
            run_after=run_after,
            run_id=run_id,
            conf=conf,
            map_index=map_index,
            try_number=try_number,
            variables=variables,
            connections=connections,
        )
        operator = _as_operator(task)
        if operator.is_mapped and map_index < 0:
            raise ValueError(_msgs.mapped_task_needs_map_index(operator.task_id))
        if not operator.has_dag():
            self.contexts.standin_dag().add_task(operator)
        store = self.contexts.store
        comms = store.channel()
        run = self.contexts.run_for(operator.dag, logical_date, run_after, run_id)
        _arguments.check_map_index(operator, map_index, store, run.dag_id, run.run_id)
        run = following.prepare_run(
            run, operator.dag, comms.deployment, asset_events=asset_events, origin=None
        )
        comms.deployment.dag_runs.setdefault((run.dag_id, run.run_id), (run, conf, lambda: "running"))
        with (
            provided(comms, variables, connections),
            installed(comms),
            hitl.responses_given(comms, hitl_responses),
            examples_off(),
        ):
            result, _ = run_task_instance(
                operator,
                run,
                store,
                conf=conf,
                map_index=map_index,
                try_number=try_number,
                run_triggers=False,
            )
        store.note_result(result)
        return result


def run_task(task: Any, *, store: XComStore | None = None, **kwargs: Any) -> TaskRunResult:
    """Run one task (an operator, or what a call of a ``@task`` function returns) in-process.

    Upstream XComs are read from ``store`` (seed them with ``store.seed``); a fresh store is used when
    none is given. Keyword arguments: ``logical_date``, ``run_after``, ``run_id``, ``conf``,
    ``map_index`` (required for a mapped task: which instance to run), ``try_number``, ``variables``,
    ``connections``, ``asset_events`` ({asset or URI: [extra, ...]}: earlier events, for ``inlet_events``
    and an asset-scheduled DAG's ``triggering_asset_events``), ``hitl_responses``.
    One attempt is made: a failing task with retries left reports ``up_for_retry``,
    as Airflow does.
    """
    contexts = TaskContextFactory(store=store if store is not None else XComStore())
    try:
        return TaskRunner(contexts)(task, **kwargs)
    finally:
        contexts.close()
