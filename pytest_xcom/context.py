"""Building DAG runs, task instances and template contexts the way the API server hands them to a worker.

The task instance is Airflow's own ``RuntimeTaskInstance`` (a thin subclass that only improves two error
messages), built from the same ``TIRunContext`` the server sends, so ``get_template_context()``,
params validation and ``xcom_push``/``xcom_pull`` are Airflow's code, talking to the test's store.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pytest_xcom import _arguments, _compat, _msgs
from pytest_xcom._compat import DAG, BaseOperator, RuntimeTaskInstance, timezone
from pytest_xcom.store import XComStore

__all__ = [
    "DEFAULT_DAG_ID",
    "InMemoryTaskInstance",
    "RunInfo",
    "StandIns",
    "TaskContextFactory",
    "as_datetime",
]

DEFAULT_DAG_ID = "test_dag"

_TI_HINTS = {"context": _msgs.TI_CONTEXT, "params": _msgs.TI_PARAMS}


class InMemoryTaskInstance(RuntimeTaskInstance):
    """Airflow's RuntimeTaskInstance, with errors that name the fix for the classic mistakes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)  # type: ignore[misc]
        except AttributeError:
            if name in _TI_HINTS:
                raise AttributeError(_TI_HINTS[name]) from None
            raise

    def get_template_context(self) -> Any:
        with _declared_params_kept(self.task):
            return super().get_template_context()


@contextlib.contextmanager
def _declared_params_kept(task: Any) -> Iterator[None]:
    """Put back the values of the task's and DAG's Param objects after Airflow validated a run's params.

    Validating the run's conf writes each value into the Param object itself. A worker deserializes its
    own copy of the DAG, so that never reaches another run; in a test the DAG object is shared by every
    test that imports it, and one test's conf would become the next test's default.
    """
    holders = [getattr(task, "params", None), getattr(getattr(task, "dag", None), "params", None)]
    declared = [(param, param.value) for holder in holders if holder for param in holder.values()]
    try:
        yield
    finally:
        for param, value in declared:
            param.value = value


def as_datetime(value: datetime | date | str) -> datetime:
    """A UTC datetime from a datetime, date or ISO-8601 string; naive means UTC, as in Airflow.

    The metadata DB stores a run's dates in UTC and the API server hands them to the worker so, which
    is what ``ds`` and ``ts`` are formatted from, whatever zone the date was given in.
    """
    if isinstance(value, str):
        return timezone.convert_to_utc(timezone.parse(value))
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return timezone.convert_to_utc(timezone.coerce_datetime(value))


@dataclass(frozen=True)
class RunInfo:
    """One manual DAG run: what dag.test() or a manual trigger would create."""

    dag_id: str
    run_id: str
    logical_date: datetime | None
    run_after: datetime
    data_interval: tuple[datetime, datetime] | None
    run_type: str = "manual"
    consumed_asset_events: tuple[Any, ...] = ()
    """The asset events an asset-triggered run was created for (AssetEventRecord)."""

    @classmethod
    def manual(
        cls,
        dag: Any,
        *,
        logical_date: datetime | date | str | None = None,
        run_after: datetime | date | str | None = None,
        run_id: str | None = None,
    ) -> RunInfo:
        # As dag.test(): both default to "now", read from the clock (so freezegun decides them).
        after = as_datetime(run_after) if run_after is not None else timezone.utcnow()
        logical = as_datetime(logical_date) if logical_date is not None else after
        return cls(
            dag_id=dag.dag_id,
            run_id=run_id or _compat.manual_run_id(after),
            logical_date=logical,
            run_after=after,
            data_interval=_compat.manual_data_interval(dag, logical),
        )

    def dag_run(self, conf: dict | None = None, state: str = "running") -> Any:
        """The DagRun the API server sends with a task's run context."""
        start, end = self.data_interval or (None, None)
        return _compat.dag_run(
            dag_id=self.dag_id,
            run_id=self.run_id,
            logical_date=self.logical_date,
            data_interval_start=start,
            data_interval_end=end,
            run_after=self.run_after,
            start_date=self.logical_date or self.run_after,
            end_date=None,
            run_type=_compat.DagRunType(self.run_type),
            state=_compat.DagRunState(state),
            conf=dict(conf or {}),  # the DB column defaults to an empty dict
            consumed_asset_events=_consumed_events(self.consumed_asset_events),
            partition_key=None,
        )


def _consumed_events(records: tuple[Any, ...]) -> list[Any]:
    if not records:
        return []
    from pytest_xcom.deployment import consumed_event_references

    return consumed_event_references(_compat.DagRun, records)


def make_task_instance(
    task: Any,
    run: RunInfo,
    *,
    conf: dict | None = None,
    map_index: int = -1,
    try_number: int = 1,
    max_tries: int | None = None,
    dag_version_id: uuid.UUID | None = None,
    xcom_keys_to_clear: list[str] | None = None,
    resume: tuple[str, dict] | None = None,
) -> InMemoryTaskInstance:
    """A task instance as a worker's startup builds it from the server's TIRunContext.

    ``resume`` is (next_method, next_kwargs) for a task coming back from a deferral.
    """
    retries = task.retries if max_tries is None else max_tries
    ti_context = _compat.ti_run_context(
        task,
        map_index,
        run.dag_run(conf),
        max_tries=retries,
        # As the API server decides it when the task starts.
        should_retry=retries != 0 and try_number <= retries,
        xcom_keys_to_clear=xcom_keys_to_clear,
        next_method=resume[0] if resume else None,
        next_kwargs=resume[1] if resume else None,
    )
    return InMemoryTaskInstance.model_construct(
        # One id per task instance of the run, kept across its tries as the metadata DB keeps it.
        id=uuid.uuid5(uuid.NAMESPACE_URL, f"{run.dag_id}/{run.run_id}/{task.task_id}/{map_index}"),
        task_id=task.task_id,
        dag_id=run.dag_id,
        run_id=run.run_id,
        try_number=try_number,
        dag_version_id=dag_version_id or uuid.uuid4(),
        map_index=map_index,
        task=task,
        _ti_context_from_server=ti_context,
        max_tries=retries,
        start_date=timezone.utcnow(),
        state=_compat.TaskInstanceState.RUNNING,
        is_mapped=map_index >= 0,
    )


class StandIns:
    """The stand-in tasks a test names by task_id, in one stand-in DAG, built once for a session.

    Building a DAG and an operator costs about as much as the rest of a push/pull test; both are the
    same in every test. A stand-in is handed out with its attributes recorded and gets them back when
    the test ends (:meth:`lend`), so what one test sets on ``ctx["task"]`` never reaches the next.
    """

    def __init__(self) -> None:
        self._dag: Any = None
        self._lock = threading.Lock()

    def lend(self, task_id: str, params: dict[str, Any] | None, stack: contextlib.ExitStack) -> Any:
        """The stand-in ``task_id`` with these params, restored as it was when ``stack`` closes."""
        with self._lock:
            if self._dag is None:
                self._dag = DAG(dag_id=DEFAULT_DAG_ID, schedule=None)
            task = self._dag.task_dict.get(task_id)
            if task is None:
                task = BaseOperator(task_id=task_id, dag=self._dag)
        saved = dict(vars(task))
        stack.callback(_restore_attributes, task, saved)
        task.params = _compat.ParamsDict(params or {})
        return task


def _restore_attributes(obj: Any, saved: dict[str, Any]) -> None:
    vars(obj).clear()
    vars(obj).update(saved)


@dataclass
class TaskContextFactory:
    """Builds task contexts for one test, all sharing its store and (by default) one DAG run."""

    store: XComStore = field(repr=False)
    standins: StandIns = field(default_factory=StandIns, repr=False)
    """Where stand-in tasks come from: the session's (the plugin passes it), else this factory's own."""
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack, repr=False)
    _standin_dag: Any = field(default=None, repr=False)
    _runs: list[RunInfo] = field(default_factory=list, repr=False)
    _dag_version_id: uuid.UUID = field(default_factory=uuid.uuid4, repr=False)
    # Threads of one test may start tasks at once: the first to come creates the test's run, the others
    # must join it, not each create a run of their own.
    _runs_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(
        self,
        task_id: str | None = None,
        *,
        params: dict[str, Any] | None = None,
        conf: dict[str, Any] | None = None,
        logical_date: datetime | date | str | None = None,
        run_after: datetime | date | str | None = None,
        run_id: str | None = None,
        map_index: int = -1,
        try_number: int = 1,
        dag: Any = None,
        task: Any = None,
    ) -> Any:
        _arguments.check_task_context_arguments(
            task_id,
            params=params,
            conf=conf,
            logical_date=logical_date,
            run_after=run_after,
            run_id=run_id,
            map_index=map_index,
            try_number=try_number,
            dag=dag,
            task=task,
        )
        task = self._resolve_task(task_id, task=task, dag=dag, params=params)
        run = self.run_for(task.dag, logical_date, run_after, run_id)
        ti = make_task_instance(
            task,
            run,
            conf=conf,
            map_index=map_index,
            try_number=try_number,
            dag_version_id=self._dag_version_id,
        )
        context = ti.get_template_context()
        # Code that calls get_current_context() sees this context until the test ends, as inside a task.
        self._stack.enter_context(_compat.set_current_context(context))
        return context

    def close(self) -> None:
        self._stack.close()

    def _resolve_task(self, task_id: str | None, *, task: Any, dag: Any, params: dict | None) -> Any:
        if task is not None:
            if params is not None:
                raise TypeError(_msgs.STANDIN_PARAMS_WITH_TASK.format(task_id=task.task_id))
            if not task.has_dag():
                self.standin_dag().add_task(task)
            return task
        if task_id is None:
            raise TypeError("task_context() needs a task_id, or a task=")
        if dag is not None:
            if task_id not in dag.task_dict:
                raise KeyError(_msgs.unknown_task(dag.dag_id, task_id, dag.task_dict))
            if params is not None:
                raise TypeError(_msgs.STANDIN_PARAMS_WITH_TASK.format(task_id=task_id))
            return dag.task_dict[task_id]
        if self._standin_dag is not None and task_id in self._standin_dag.task_dict:
            task = self._standin_dag.task_dict[task_id]  # a task of the test's own, given earlier
            task.params = _compat.ParamsDict(params or {})
            return task
        return self.standins.lend(task_id, params, self._stack)

    def standin_dag(self) -> Any:
        """The DAG ``test_dag`` that the test's own tasks without a DAG join (one per test)."""
        if self._standin_dag is None:
            self._standin_dag = DAG(dag_id=DEFAULT_DAG_ID, schedule=None)
        return self._standin_dag

    def run_for(self, dag: Any, logical_date: Any, run_after: Any, run_id: str | None) -> RunInfo:
        """The test's run of ``dag`` for this run_id (or date), created (and given to the store) if new.

        Without a run_id, a context joins the test's run of its DAG; a different ``logical_date`` without
        a run_id or run_after is refused rather than silently starting a second run, whose XComs the
        first could not see.
        """
        with self._runs_lock:
            return self._run_for(dag, logical_date, run_after, run_id)

    def _run_for(self, dag: Any, logical_date: Any, run_after: Any, run_id: str | None) -> RunInfo:
        wanted = as_datetime(logical_date) if logical_date is not None else None
        runs = [run for run in self._runs if run.dag_id == dag.dag_id]
        if run_id is not None:
            found = next((run for run in runs if run.run_id == run_id), None)
        elif wanted is None:
            found = runs[0] if runs else None
        else:
            found = next((run for run in runs if run.logical_date == wanted), None)
            if found is None and runs and run_after is None:
                raise ValueError(
                    _msgs.second_run_needs_run_id(dag.dag_id, runs[0].run_id, runs[0].logical_date, wanted)
                )
        if found is not None:
            if wanted is not None and found.logical_date != wanted:
                raise ValueError(
                    _msgs.run_date_mismatch(dag.dag_id, found.run_id, found.logical_date, wanted)
                )
            return found
        run = RunInfo.manual(dag, logical_date=wanted, run_after=run_after, run_id=run_id)
        self.store.bind_run(run.dag_id, run.run_id, run.logical_date or run.run_after)
        self._runs.append(run)
        return run
