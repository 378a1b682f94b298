"""What run_task and run_dag hand back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pytest_xcom import _msgs
from pytest_xcom.logs import TaskLogs
from pytest_xcom.store import XComStore

if TYPE_CHECKING:
    from pytest_xcom.assets import AssetEventRecord
    from pytest_xcom.deployment import TriggeredRun
    from pytest_xcom.runner.callbacks import DagCallbackRun
    from pytest_xcom.runner.deadlines import RunDeadline

__all__ = ["DagRunResult", "RunXComs", "TaskRunResult", "TaskStates", "TaskXComs"]


# -- the dicts results hand out: plain dicts, whose type tells a failed comparison how to explain itself
# (pytest_xcom.assertrepr) --


class TaskStates(dict[tuple[str, int], str]):
    """{(task_id, map_index): state} of a DAG run."""

    what = "task states"


class RunXComs(dict[tuple[str, int, str], Any]):
    """{(task_id, map_index, key): value} of every XCom a DAG run pushed."""

    what = "XComs"


class TaskXComs(dict[str, Any]):
    """{key: value} of every XCom one task instance pushed."""

    what = "XComs"


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
    rendered: dict[str, Any] = field(default_factory=dict, repr=False)
    """The task's template fields as ``execute`` received them ({} if it never got that far); a
    :class:`~pytest_xcom.render.RenderedFields`, whose ``.shown`` is what the Rendered Template view shows."""
    logs: TaskLogs = field(default_factory=TaskLogs, repr=False)
    """The try's log lines as the worker wrote them (``.messages``, ``.text``; each line ``.level``,
    ``.event``, ``.fields``); captured, not printed."""
    asset_events: list[AssetEventRecord] = field(default_factory=list)
    """The asset events the task emitted (:class:`~pytest_xcom.AssetEventRecord`), in emission order."""

    def __post_init__(self) -> None:
        self.xcoms = TaskXComs(self.xcoms)

    @property
    def ok(self) -> bool:
        return self.state == "success"

    @property
    def rendered_map_index(self) -> str | None:
        """The map index as Airflow stores and shows it: the rendered ``map_index_template`` if the task
        has one, else the index itself as text for a mapped instance, else None."""
        # The worker sends its last rendering with every state it reports; the task_instance column's
        # getter falls back to str(map_index) when nothing was sent.
        rendered = getattr(self.ti, "rendered_map_index", None)
        if rendered is not None:
            return rendered
        return str(self.map_index) if self.map_index >= 0 else None


@dataclass
class DagRunResult:
    """What a DAG run did: its state, every task instance's state, and every XCom pushed.

    ``xcoms`` and ``tasks`` are this run's own: a later run with the same run_id replaces the run in
    the store (as dag.test() replaces it in the metadata DB) but not what this result holds.
    """

    dag_id: str
    run_id: str
    logical_date: datetime | None
    data_interval: tuple[datetime, datetime] | None
    state: str
    task_states: dict[tuple[str, int], str]
    xcoms: dict[tuple[str, int, str], Any]
    tasks: dict[tuple[str, int], TaskRunResult] = field(repr=False)
    store: XComStore = field(repr=False)
    waiting: dict[tuple[str, int], str] = field(default_factory=dict)
    """A run left ``running`` (held by an earlier run, where Airflow waits for ever): each instance
    without a state, and what holds it."""
    dag_callbacks: list[DagCallbackRun] = field(default_factory=list, repr=False)
    """The DAG's on_success_callback / on_failure_callback calls at the end of the run
    (:class:`~pytest_xcom.runner.callbacks.DagCallbackRun`: name, reason, task_id, error)."""
    deadlines: list[RunDeadline] = field(default_factory=list)
    """The run's deadlines (``DAG(deadline=...)``): :class:`~pytest_xcom.runner.deadlines.RunDeadline`
    with ``deadline_time``, ``missed`` (its callback was called, on the run's clock) and ``error``."""
    triggered_runs: list[TriggeredRun] = field(default_factory=list)
    """The DAG runs this run's tasks triggered and its asset events scheduled
    (:class:`~pytest_xcom.TriggeredRun`); each one's ``.result`` is set if it was followed."""
    asset_events: list[AssetEventRecord] = field(default_factory=list)
    """The asset events this run's tasks emitted (:class:`~pytest_xcom.AssetEventRecord`), in order."""
    # -- answers to the usual questions (order, mapped values) --
    dag: Any = field(default=None, repr=False)
    order: list[tuple[str, int]] = field(default_factory=list, repr=False)
    """(task_id, map_index) of every attempt, in the order they started: a retried instance once per
    try, a sensor in reschedule mode once per poke."""

    def __post_init__(self) -> None:
        self.task_states = TaskStates(self.task_states)
        self.xcoms = RunXComs(self.xcoms)

    def __getitem__(self, task_id: str) -> TaskRunResult:
        """The result of an unmapped task (``result["extract"].return_value``)."""
        try:
            return self.tasks[(task_id, -1)]
        except KeyError:
            ran = sorted({t for t, _ in self.tasks})
            raise KeyError(f"task {task_id!r} did not run unmapped in this DAG run; ran: {ran}") from None

    def logs(self, task_id: str, map_index: int = -1) -> TaskLogs:
        """The log lines of a task instance's last try in this run (empty if it never ran)."""
        result = self.tasks.get((task_id, map_index))
        return result.logs if result is not None else TaskLogs()

    def mapped(self, task_id: str, key: str = "return_value") -> list[Any]:
        """The values the instances of mapped task ``task_id`` pushed under ``key``, in map index order.

        What a downstream task receives from the whole mapped task (an XComArg's lazy sequence, as a
        list; ``ti.xcom_pull(task_ids=task_id)`` gives the same, but unwraps a list of one): an instance
        that pushed nothing (skipped, failed, or returned None) has no place in it, so positions are not
        always map indexes. (Before Airflow 3.3, a task outside a mapped task group receives Airflow's
        NOTSET sentinel in place of such an instance of a task in the group; here it is left out.)
        """
        task = self.dag.task_dict.get(task_id) if self.dag is not None else None
        if task is None:
            ran = sorted({t for t, _ in self.task_states})
            raise KeyError(_msgs.unknown_task(self.dag_id, task_id, ran))
        if not (task.is_mapped or task.get_closest_mapped_task_group() is not None):
            raise ValueError(_msgs.not_a_mapped_task(task_id))
        pushed = ((m, v) for (t, m, k), v in self.xcoms.items() if t == task_id and k == key and m >= 0)
        return [value for _, value in sorted(pushed, key=lambda item: item[0])]
