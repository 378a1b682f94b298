"""What a whole deployment adds to a test's store: triggered DAG runs, assets and their events.

The API server's dag-runs routes (``TriggerDagRun``, ``GetDagRunState``, ``GetDRCount``) and its asset
routes answer from :class:`Deployment`, which the comms channel of a store holds. A run that a task
triggers is recorded as a :class:`TriggeredRun`; it runs only when the test asks to follow it
(``run_dag(..., dags=[...])``, see :mod:`pytest_xcom.runner.following`).
"""

from __future__ import annotations

import contextlib
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from pytest_xcom import _msgs
from pytest_xcom.assets import AssetEventRecord, AssetTable

if TYPE_CHECKING:
    from pytest_xcom.runner.results import DagRunResult

__all__ = ["Deployment", "RunningTask", "TriggeredRun", "consumed_event_references"]

QUEUED = "queued"


@dataclass(eq=False)
class TriggeredRun:
    """A DAG run created by a ``TriggerDagRunOperator`` or by asset events, and what it did if followed."""

    dag_id: str
    run_id: str
    conf: dict[str, Any]
    logical_date: datetime | None
    triggered_by: str | None
    """The task id that triggered it, or the URI of the asset whose event scheduled it."""
    result: DagRunResult | None = None
    """Its :class:`~pytest_xcom.DagRunResult` if it was followed (``run_dag(..., dags=[...])``), else None."""
    run_after: datetime | None = None
    parent: tuple[str, str] | None = field(default=None, repr=False)
    """(dag_id, run_id) of the run whose task or asset event created it."""
    consumed_asset_events: tuple[AssetEventRecord, ...] = field(default=(), repr=False)
    """For an asset-scheduled run: the events it was created for (its ``triggering_asset_events``)."""

    @property
    def state(self) -> str:
        """``queued`` until it was followed, then the followed run's state."""
        return self.result.state if self.result is not None else QUEUED


class RunningTask(NamedTuple):
    dag_id: str
    run_id: str
    task_id: str
    map_index: int


@dataclass
class Deployment:
    """The dag_run rows tasks create, the asset tables, and who follows the runs."""

    assets: AssetTable = field(default_factory=AssetTable)
    runs: list[TriggeredRun] = field(default_factory=list)
    follow: Callable[[TriggeredRun], None] | None = None
    """Runs a triggered run now (set while a DAG run follows its triggers); None: nothing is followed."""
    followable: Callable[[str], bool] = field(default=lambda dag_id: False, repr=False)
    running: RunningTask | None = None
    """The task instance whose messages the server is answering."""
    asset_queues: dict[str, dict[tuple[str, str], str]] = field(default_factory=dict)
    """The asset_dag_run_queue: per DAG, the assets with events since its last asset-triggered run."""
    consumed_upto: dict[str, int] = field(default_factory=dict)
    """Per DAG, how many asset events there were when its last asset-triggered run was created."""
    asset_state: dict[tuple[tuple[str, str], str], str] = field(default_factory=dict)
    """The asset state store: ((asset name, uri), key) -> JSON text."""
    dags: dict[str, Any] = field(default_factory=dict)
    """The DAGs this test ran or follows, by id (the dag table)."""
    dag_runs: dict[tuple[str, str], tuple[Any, dict | None, Callable[[], str]]] = field(default_factory=dict)
    """The dag_run table: (dag_id, run_id) -> (RunInfo, conf, its state now)."""
    hitl_details: dict[Any, Any] = field(default_factory=dict)
    """The hitl_detail table: task instance id -> its request and response."""
    hitl_responses: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The answers a test gives its human-in-the-loop tasks, by task id."""

    @contextlib.contextmanager
    def task_running(self, task: RunningTask) -> Iterator[None]:
        previous, self.running = self.running, task
        try:
            yield
        finally:
            self.running = previous

    def find_run(self, dag_id: str, run_id: str) -> TriggeredRun | None:
        return next((r for r in self.runs if r.dag_id == dag_id and r.run_id == run_id), None)

    # -- the dag-runs routes ------------------------------------------------------------------------

    def trigger(self, msg: Any) -> bool:
        """Create the run a TriggerDagRun asks for; False when it exists (and is not to be reset)."""
        existing = self.find_run(msg.dag_id, msg.run_id)
        if existing is not None:
            if not getattr(msg, "reset_dag_run", False):
                return False
            self.runs.remove(existing)  # the client clears the run: it starts again
        running = self.running
        self.runs.append(
            TriggeredRun(
                dag_id=msg.dag_id,
                run_id=msg.run_id,
                conf=dict(msg.conf or {}),
                logical_date=msg.logical_date,
                run_after=getattr(msg, "run_after", None),
                triggered_by=running.task_id if running else None,
                parent=(running.dag_id, running.run_id) if running else None,
            )
        )
        return True

    def run_state(self, dag_id: str, run_id: str) -> str:
        """A run's state as a waiting task reads it; a triggered run that can be followed runs first."""
        run = self.find_run(dag_id, run_id)
        if run is None:
            raise LookupError(_msgs.unknown_dag_run(dag_id, run_id))
        if run.result is None:
            if self.follow is None or not self.followable(dag_id):
                raise RuntimeError(_msgs.waits_on_unfollowed_run(dag_id, run_id, run.triggered_by))
            self.follow(run)
        return run.state

    def follow_runs_of(self, task: RunningTask) -> list[TriggeredRun]:
        """Follow now the runs ``task`` triggered: a task deferred to wait for them finds them finished,
        as the triggerer would once the scheduler had run them. The runs that cannot be followed."""
        unfollowed = []
        for run in list(self.runs):
            if run.result is not None or run.parent != (task.dag_id, task.run_id):
                continue
            if run.triggered_by != task.task_id:
                continue
            if self.follow is None or not self.followable(run.dag_id):
                unfollowed.append(run)
            else:
                self.follow(run)
        return unfollowed

    def count_runs(self, msg: Any) -> int:
        """GetDRCount: how many runs of a DAG match the run ids, dates and states asked for."""
        count = 0
        for run in [r for r in self.runs if r.dag_id == msg.dag_id]:
            if msg.run_ids and run.run_id not in msg.run_ids:
                continue
            if getattr(msg, "logical_dates", None) and run.logical_date not in msg.logical_dates:
                continue
            if msg.states:
                state = self.run_state(run.dag_id, run.run_id)
                if state not in msg.states:
                    continue
            count += 1
        return count

    # -- assets -------------------------------------------------------------------------------------

    def register_outcome(self, succeed: Any, timestamp: datetime) -> list[AssetEventRecord]:
        running = self.running
        if running is None:
            return []
        return self.assets.register_outcome(succeed, timestamp=timestamp, **running._asdict())


def _nested_model(model: Any, field_name: str) -> Any:
    """The pydantic model of the items of ``model.field_name`` (a ``list[Model]`` field)."""
    annotation = model.model_fields[field_name].annotation
    for arg in typing.get_args(annotation) or (annotation,):
        if hasattr(arg, "model_fields"):
            return arg
    raise TypeError(f"{model.__name__}.{field_name} holds no model")  # pragma: no cover


def _known(model: Any, fields: dict[str, Any]) -> dict[str, Any]:
    # Each Airflow's model forbids the fields it does not know (partition_key is 3.2's).
    return {k: v for k, v in fields.items() if k in model.model_fields}


def consumed_event_references(dag_run_model: Any, records: tuple[AssetEventRecord, ...]) -> list[Any]:
    """The DagRun's ``consumed_asset_events`` the API server sends for an asset-triggered run."""
    reference = _nested_model(dag_run_model, "consumed_asset_events")
    asset_model = _nested_model(reference, "asset")
    alias_model = _nested_model(reference, "source_aliases")
    refs = []
    for record in records:
        fields = {
            "asset": asset_model(
                **_known(asset_model, {"name": record.name, "uri": record.uri, "extra": {}})
            ),
            "extra": dict(record.extra),
            "source_task_id": record.task_id,
            "source_dag_id": record.dag_id,
            "source_run_id": record.run_id,
            "source_map_index": record.map_index,
            "source_aliases": [alias_model(name=name) for name in record.source_aliases],
            "timestamp": record.timestamp,
            "partition_key": None,
        }
        refs.append(reference(**_known(reference, fields)))
    return refs
