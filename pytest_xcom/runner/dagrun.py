"""A DAG run's task instances and the scheduler's decisions about them (airflow/models/dagrun.py).

:class:`SchedulerDagRun` holds what the task_instance table holds for one run and mirrors, by name:
``verify_integrity`` (creating the instances, literal mappings already expanded),
``task_instance_scheduling_decisions``, ``_get_ready_tis``, ``_are_premature_tis``, ``update_state`` and
``_tis_for_dagrun_state``. A pass of :mod:`pytest_xcom.runner.dag_test` calls ``update_state`` once,
as dag.test() does, and runs what it returns.

The dependencies of each task instance are those of Airflow's ``DEFAULT_OPERATOR_DEPS``, evaluated in
the order listed in :data:`_DEPS`. Airflow keeps them in a set ordered by the classes' ids, so its
order differs between processes (with the hash seed and the import history); it matters only when two
deps would set different states, and each sets its state over the one before. The one such pair a
generated DAG meets: MappedTaskUpstreamDep says upstream_failed (the list source failed) while the
trigger rule says skipped (``all_skipped`` with a failed upstream); dag.test() then gives either, by
process (both are seen under different PYTHONHASHSEED values). :data:`_DEPS` lets the trigger rule,
the rule the DAG's author wrote, speak last, and a branch's NotPreviouslySkippedDep after it.
``depends_on_past`` (PrevDagrunDep) looks at the earlier ``run_dag`` runs of the DAG recorded in the
store; as in Airflow, an unfinished instance with ``depends_on_past`` (or a ``max_active_tis_per_*``
limit) turns the deadlock check off, so a run held by an earlier one stays running (``held`` says why).
When the run ends, ``callback`` is the DAG callback Airflow would call (``DagCallbackRequest``).
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from pytest_xcom import _compat
from pytest_xcom.runner.mapped import (
    NotFullyPopulated,
    NotMapped,
    expand_mapped_task,
    get_mapped_ti_count,
    mapped_task_upstream_dep,
    revise_map_indexes_if_mapped,
)
from pytest_xcom.runner.states import (
    DEFERRED,
    FAILED,
    FAILED_STATES,
    FINISHED,
    REMOVED,
    RUNNING,
    SCHEDULEABLE,
    SUCCESS,
    SUCCESS_STATES,
    UNFINISHED,
)
from pytest_xcom.runner.ti_deps import (
    not_in_retry_period_dep,
    not_previously_skipped_dep,
    prev_dagrun_dep,
    ready_to_reschedule_dep,
)
from pytest_xcom.runner.trigger_rule_dep import trigger_rule_dep

if TYPE_CHECKING:
    from pytest_xcom.context import RunInfo
    from pytest_xcom.runner.results import TaskRunResult
    from pytest_xcom.store import XComStore

__all__ = ["TI", "DagCallback", "DepContext", "FinishedTI", "SchedulerDagRun"]


@dataclass(eq=False)
class TI:
    """One task_instance row."""

    task_id: str
    map_index: int
    state: str | None = None
    try_number: int = 0
    end: float = 0.0
    """When the last try ended, on the run's clock."""
    retry_delay_override: float | None = None
    reschedule_at: float | None = None
    """When a sensor in reschedule mode pokes again, on the run's clock."""
    reschedules: int = 0
    """How often a sensor in reschedule mode asked to poke again (the server's task_reschedule rows)."""
    result: TaskRunResult | None = None
    _run: SchedulerDagRun | None = field(default=None, repr=False)
    _unmet_since: int | None = field(default=None, repr=False)
    """The evaluation (``DepContext.epoch``) that last found this instance not ready and left it alone."""
    start_date: datetime | None = None
    end_date: datetime | None = None
    """When the last try started and ended (the wall clock, as the task_instance table has them)."""
    row: int = 0
    """The row's place in the table: creation order, kept when the unexpanded instance becomes index 0."""

    @property
    def key(self) -> tuple[str, int]:
        return self.task_id, self.map_index

    def __setattr__(self, name: str, value: Any) -> None:
        run = self._run
        if name == "state" and run is not None:
            run.state_changing(self, value)
            object.__setattr__(self, name, value)
            run.changed(self.task_id)
        else:
            object.__setattr__(self, name, value)


class FinishedTI(NamedTuple):
    """A finished instance as the pass's snapshot (``DepContext.finished_tis``) holds it."""

    task_id: str
    map_index: int
    state: str


@dataclass
class DepContext:
    """Airflow's DepContext, with what the scheduler sets: flag_upstream_failed is always on.

    Its snapshot of the finished instances (Airflow's ``finished_tis``) is the run's table as it was when
    the context was made. A pass reads the instances of a few tasks only, so the snapshot is taken a
    task at a time: when first read, or, if earlier, just before an instance of the task changes.
    """

    run: SchedulerDagRun
    ignore_in_retry_period: bool = False
    ignore_in_reschedule_period: bool = False
    have_changed_ti_states: bool = False
    epoch: int = 0
    """Which evaluation of the run this is (see :meth:`SchedulerDagRun.are_dependencies_met`)."""
    _finished_by_task: dict[str, list[FinishedTI]] = field(default_factory=dict, repr=False)
    _complete: bool = field(default=False, repr=False)
    """Whether the snapshot was taken whole from a list (see :meth:`SchedulerDagRun.new_dep_context`)."""

    def freeze(self, task_id: str) -> None:
        """Take the snapshot of ``task_id``'s finished instances now, if not taken yet."""
        if not self._complete and task_id not in self._finished_by_task:
            self._finished_by_task[task_id] = self.run.finished_now(task_id)

    def _finished(self, task_id: str) -> list[FinishedTI]:
        try:
            return self._finished_by_task[task_id]
        except KeyError:
            if self._complete:
                return []
            found = self._finished_by_task[task_id] = self.run.finished_now(task_id)
            return found

    def has_finished(self, task_id: str) -> bool:
        """Whether the snapshot holds a finished instance of ``task_id``."""
        return bool(self._finished(task_id))

    def finished_of(self, task_ids: Iterable[str]) -> list[FinishedTI]:
        """The snapshot's finished instances of these tasks."""
        return [f for task_id in task_ids for f in self._finished(task_id)]


class DagCallback(NamedTuple):
    """The DAG callback a finished run calls: success or failure, Airflow's reason, and the task
    instance whose context the callback gets (None: a context of only dag and run_id)."""

    success: bool
    reason: str
    ti: TI | None


class Decision:
    """TISchedulingDecision: what can be scheduled, whether states changed, and the run's instances,
    unfinished and finished as they were when the decision began (after an expansion, when it ended).

    The lists are made when first read, from the states then (``earlier`` holds those the decision
    changed): most passes need only how many are unfinished.
    """

    def __init__(
        self,
        listed: list[TI],
        schedulable_tis: list[TI],
        changed_tis: bool,
        counts: Mapping[str | None, int],
        earlier: Mapping[TI, str | None] | None = None,
    ) -> None:
        self._listed = listed
        self._earlier = earlier or {}
        self.schedulable_tis = schedulable_tis
        self.changed_tis = changed_tis
        self.unfinished_count = sum(counts.get(state, 0) for state in UNFINISHED)
        self.deferred_count = counts.get(DEFERRED, 0)

    @functools.cached_property
    def tis(self) -> list[TI]:
        return list(self._listed)

    @functools.cached_property
    def unfinished_tis(self) -> list[TI]:
        return [t for t in self._listed if self._earlier.get(t, t.state) in UNFINISHED]

    @functools.cached_property
    def finished_tis(self) -> list[TI]:
        return [t for t in self._listed if self._earlier.get(t, t.state) in FINISHED]


_Dep = Callable[[TI, "SchedulerDagRun", DepContext], bool]


def _mapped_task_upstream(ti: TI, dr: SchedulerDagRun, ctx: DepContext) -> bool:
    before = ti.state
    met = mapped_task_upstream_dep(ti, dr)
    ctx.have_changed_ti_states |= ti.state != before
    return met


_DEPS: tuple[_Dep, ...] = (
    ready_to_reschedule_dep,  # Airflow adds it for an up_for_reschedule instance only; it passes for others
    not_in_retry_period_dep,
    _mapped_task_upstream,
    prev_dagrun_dep,  # sets no state: where it stands among the others does not matter
    trigger_rule_dep,
    not_previously_skipped_dep,
)


def _utcnow() -> datetime:
    from pytest_xcom._compat import timezone

    return timezone.utcnow()


@dataclass(eq=False)
class SchedulerDagRun:
    """The scheduler's view of one DAG run: its task instances, their states and the run's state."""

    dag: Any
    run: RunInfo
    store: XComStore
    tis: dict[tuple[str, int], TI] = field(default_factory=dict)
    state: str = RUNNING
    clock: float = 0.0
    """Seconds since the run started: the scheduler's "now" (moved on only by waiting for retries)."""
    # The instances of each task, {task_id: {map_index: TI}}, kept with ``tis`` (the table's index).
    _tis_by_task: dict[str, dict[int, TI]] = field(default_factory=dict, repr=False)
    # What the DAG's shape answers (relatives, setups, mapped groups, leaves), asked for again by every
    # instance in every pass: the DAG does not change during a run, so each is worked out once.
    _shape: dict[tuple, Any] = field(default_factory=dict, repr=False)
    # An instance whose deps were not met, and which they left alone, gives the same answer until an
    # instance of a task its deps read changes. ``_epoch`` counts evaluations (each with its snapshot);
    # ``_changed_at[task_id]`` is the last evaluation during which such a change happened.
    _epoch: int = field(default=0, repr=False)
    _changed_at: dict[str, int] = field(default_factory=dict, repr=False)
    # The dep context being evaluated, whose snapshot is taken a task at a time (see DepContext).
    _ctx: DepContext | None = field(default=None, repr=False)
    # ``get_task_instances``'s order, kept until an instance is created, renumbered or removed.
    _ordered: list[TI] | None = field(default=None, repr=False)
    # What a pass of the run loop changed (see :meth:`begin_pass`): each changed instance's state when
    # the pass began, and the whole table as it was then once an instance is created or removed.
    _in_pass: bool = field(default=False, repr=False)
    _pass_states: dict[tuple[str, int], str | None] = field(default_factory=dict, repr=False)
    _pass_table: list[tuple[tuple[str, int], str | None]] | None = field(default=None, repr=False)
    # How many instances are in each state now, so that a pass knows how many are unfinished.
    _counts: collections.Counter[str | None] = field(default_factory=collections.Counter, repr=False)
    # Tasks that may have a schedulable instance the unmet cache does not answer for: every task an
    # instance's change touches (:meth:`changed`), until a decision finds it has none. A decision
    # evaluates only their instances, unless something changes during it (see :meth:`_ready`).
    _dirty: set[str] = field(default_factory=set, repr=False)
    _changes: int = field(default=0, repr=False)
    # While a decision is being made: the state each instance it changed had when it began.
    _decision_from: dict[TI, str | None] | None = field(default=None, repr=False)
    conf: dict | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    held: dict[tuple[str, int], str] = field(default_factory=dict)
    """Instances depends_on_past holds back, with PrevDagrunDep's reason."""
    callback: DagCallback | None = None
    """Set by the ``update_state`` that ends the run, when the DAG has a callback for how it ended."""
    created: datetime = field(default_factory=lambda: _utcnow())
    """When the run was created (queued), on the wall clock; its clock counts from here."""
    deadlines: list[Any] = field(default_factory=list)
    """The run's :class:`~pytest_xcom.runner.deadlines.RunDeadline` s."""
    rows_created: int = 0

    # -- the DAG's shape, worked out once per run ---------------------------------------------------

    def _shaped(self, key: tuple, compute: Callable[[], Any]) -> Any:
        try:
            return self._shape[key]
        except KeyError:
            value = self._shape[key] = compute()
            return value

    def flat_relative_ids(self, task: Any, *, upstream: bool) -> set[str]:
        """``task.get_flat_relative_ids(upstream=...)`` (do not change the set)."""
        key = ("flat", task.task_id, upstream)
        return self._shaped(key, lambda: task.get_flat_relative_ids(upstream=upstream))

    def upstreams_only_setups(self, task: Any) -> list[Any]:
        """``task.get_upstreams_only_setups()``."""
        # It yields setup tasks only, after walking every upstream: a DAG without any has nothing to walk.
        if not self._shaped(("any setup",), lambda: any(t.is_setup for t in self.dag.task_dict.values())):
            return []
        return self._shaped(("setups", task.task_id), lambda: list(task.get_upstreams_only_setups()))

    def closest_mapped_task_group(self, task: Any) -> Any:
        """``task.get_closest_mapped_task_group()``."""
        return self._shaped(("group", task.task_id), task.get_closest_mapped_task_group)

    def _readers(self) -> dict[str, set[str]]:
        """{task_id: the tasks whose deps read its instances, states or XComs}.

        The trigger rule, NotPreviouslySkippedDep and the mapped-upstream dep of an unmapped task outside
        mapped groups, without setups and not a teardown, read its direct upstreams only; any other task
        is taken to read every task upstream of it.
        """

        def compute() -> dict[str, set[str]]:
            readers: dict[str, set[str]] = {}
            for task in self.dag.task_dict.values():
                reads = set(task.upstream_task_ids)
                if (
                    task.is_teardown
                    or task.is_mapped
                    or self.closest_mapped_task_group(task) is not None
                    or self.upstreams_only_setups(task)
                ):
                    reads |= self.flat_relative_ids(task, upstream=True)
                for upstream_id in reads:
                    readers.setdefault(upstream_id, set()).add(task.task_id)
            return readers

        return self._shaped(("readers",), compute)

    # -- what changes, as it changes -----------------------------------------------------------------

    def state_changing(self, ti: TI, state: str | None) -> None:
        """``ti``'s state is about to become ``state``."""
        if self._ctx is not None:
            self._ctx.freeze(ti.task_id)
        if self._in_pass and self._pass_table is None and ti.key not in self._pass_states:
            self._pass_states[ti.key] = ti.state
        if self._decision_from is not None and ti not in self._decision_from:
            self._decision_from[ti] = ti.state
        if self.tis.get(ti.key) is ti:
            self._counts[ti.state] -= 1
            self._counts[state] += 1

    def _reshaping(self, task_id: str) -> None:
        """An instance of ``task_id`` is about to be created, renumbered or removed."""
        if self._ctx is not None:
            self._ctx.freeze(task_id)
        self._ordered = None
        if self._in_pass and self._pass_table is None:
            states = self._pass_states
            self._pass_table = [(key, states.get(key, ti.state)) for key, ti in self.tis.items()]

    def begin_pass(self) -> None:
        """Start noting what changes, for :meth:`pass_changed`."""
        self._in_pass, self._pass_states, self._pass_table = True, {}, None

    def pass_changed(self) -> bool:
        """Whether the table (its instances and their states) differs from what it was at
        :meth:`begin_pass`; a state changed and changed back is no change. Ends the noting."""
        self._in_pass = False
        if self._pass_table is not None:
            return [(key, ti.state) for key, ti in self.tis.items()] != self._pass_table
        return any(self.tis[key].state != state for key, state in self._pass_states.items())

    def changed(self, task_id: str) -> None:
        """An instance of ``task_id`` changed (state, created, renumbered, removed)."""
        epoch = self._epoch
        self._changes += 1
        self._changed_at[task_id] = epoch
        self._dirty.add(task_id)
        for reader in self._readers().get(task_id, ()):
            self._changed_at[reader] = epoch
            self._dirty.add(reader)

    def _answered_by_cache(self, ti: TI) -> bool:
        """Whether ``ti`` has no state, was found not ready and left alone, and nothing its deps read
        has changed since: its deps would say not ready again (its retry and reschedule deps pass)."""
        since = ti._unmet_since
        return ti.state is None and since is not None and self._changed_at.get(ti.task_id, -1) < since

    # -- earlier runs of the DAG ----------------------------------------------------------------------

    def earlier_dag_runs(self) -> list[SchedulerDagRun]:
        """The DAG's earlier run_dag runs in the store, latest first."""
        when = self.run.logical_date
        return [] if when is None else self.store.earlier_dag_runs(self.run.dag_id, when)

    def previous_dag_run(self) -> SchedulerDagRun | None:
        """The run PrevDagrunDep compares with: the latest earlier one; with catchup the latest earlier
        scheduled one, and every run here is a manual one."""
        if getattr(self.dag, "catchup", False):
            return None
        earlier = self.earlier_dag_runs()
        return earlier[0] if earlier else None

    # -- the task_instance table --------------------------------------------------------------------

    def tis_of(self, task_id: str) -> list[TI]:
        by_index = self._tis_by_task.get(task_id, {})
        return [by_index[i] for i in sorted(by_index)]

    def get_task_instances(self) -> list[TI]:
        """Every instance, ordered as ``DagRun.fetch_task_instances`` orders them: by (task_id, map_index)
        from 3.2; before, in the table's order (its query has no ORDER BY), i.e. as the rows were created."""
        return list(self._listed())

    def _listed(self) -> list[TI]:
        # The list is replaced, never changed, when the table changes: a holder keeps the old order.
        if self._ordered is None:
            self._ordered = sorted(self.tis.values(), key=self._order)
        return self._ordered

    @staticmethod
    def _order(ti: TI) -> Any:
        return ti.row if _compat.TASK_INSTANCES_IN_ROW_ORDER else (ti.task_id, ti.map_index)

    def finished_now(self, task_id: str) -> list[FinishedTI]:
        """``task_id``'s finished instances as they are now."""
        return [
            FinishedTI(task_id, ti.map_index, ti.state)
            for ti in self._tis_by_task.get(task_id, {}).values()
            if ti.state in FINISHED
        ]

    def add_ti(self, task_id: str, map_index: int, state: str | None = None) -> TI:
        self._reshaping(task_id)
        ti = TI(task_id, map_index, state, row=self.rows_created, _run=self)
        self.rows_created += 1
        self._counts[state] += 1
        self.tis[ti.key] = ti
        self._tis_by_task.setdefault(task_id, {})[map_index] = ti
        self.changed(task_id)
        return ti

    def renumber(self, ti: TI, map_index: int) -> None:
        self._reshaping(ti.task_id)
        self.remove(ti)
        self._counts[ti.state] += 1
        ti.map_index = map_index
        self.tis[ti.key] = ti
        self._tis_by_task.setdefault(ti.task_id, {})[map_index] = ti
        self.changed(ti.task_id)

    def remove(self, ti: TI) -> None:
        self._reshaping(ti.task_id)
        self._counts[ti.state] -= 1
        del self.tis[ti.key]
        del self._tis_by_task[ti.task_id][ti.map_index]
        self.changed(ti.task_id)

    def set_state(self, ti: TI, state: str, ctx: DepContext | None = None) -> bool:
        """``TaskInstance.set_state``: whether the state changed."""
        if ti.state == state:
            return False
        ti.state = state
        if ctx is not None:
            ctx.have_changed_ti_states = True
        return True

    def ti_count(self, msg: Any) -> int:
        """Answer a task's GetTICount, as the API server counts task_instance rows."""
        task_ids = set(msg.task_ids or [])
        if msg.task_group_id:
            task_ids |= {t.task_id for t in self.dag.task_group_dict[msg.task_group_id].iter_tasks()}
        return sum(
            1
            for ti in self.tis.values()
            if ti.task_id in task_ids
            and (msg.map_index is None or ti.map_index == msg.map_index)
            and (not msg.states or ti.state in msg.states)
        )

    def verify_integrity(self, tasks: Iterable[Any]) -> None:
        """Create the run's instances; a mapping over literals gets its map indexes 0..n-1 now."""
        planned: list[tuple[str, Iterable[int]]] = []
        for task in tasks:
            try:
                count = get_mapped_ti_count(task, self)
            except (NotMapped, NotFullyPopulated):
                planned.append((task.task_id, (-1,)))
            else:
                # A zero-length literal still gets one instance, skipped when it is expanded.
                planned.append((task.task_id, range(count) if count else (-1,)))
        for task_id, map_indexes in planned:
            for map_index in map_indexes:
                self.add_ti(task_id, map_index)

    # -- TISchedulingDecision ------------------------------------------------------------------------

    def task_instance_scheduling_decisions(self) -> Decision:
        listed, counts = self._listed(), dict(self._counts)
        if not any(counts.get(state) for state in UNFINISHED):
            return Decision(listed, [], False, counts)
        self._decision_from = {}
        try:
            ready, changed, expansion_happened = self._get_ready_tis(listed)
        finally:
            earlier, self._decision_from = self._decision_from, None
        if expansion_happened:
            # An expansion may have finished instances (skipped / upstream_failed) and made new ones.
            return Decision(self._listed(), ready, True, self._counts)
        return Decision(listed, ready, changed, counts, earlier)

    def _candidates(self) -> list[TI]:
        """The schedulable instances the unmet cache does not answer for, in the listing's order."""
        found: list[TI] = []
        for task_id in list(self._dirty):
            kept = False
            for ti in self._tis_by_task.get(task_id, {}).values():
                if ti.state in SCHEDULEABLE and not self._answered_by_cache(ti):
                    found.append(ti)
                    kept = True
            if not kept:
                self._dirty.discard(task_id)
        found.sort(key=self._order)
        return found

    def new_dep_context(self, finished: list[TI] | None = None, **flags: bool) -> DepContext:
        """A context whose snapshot is ``finished`` (their states now), or, without it, the instances
        finished now, taken a task at a time while it is the run's current context."""
        self._epoch += 1
        ctx = DepContext(run=self, epoch=self._epoch, **flags)
        if finished is None:
            self._ctx = ctx
        else:
            ctx._complete = True
            for t in finished:
                if t.state is not None:
                    ctx._finished_by_task.setdefault(t.task_id, []).append(
                        FinishedTI(t.task_id, t.map_index, t.state)
                    )
        return ctx

    def are_dependencies_met(self, ti: TI, ctx: DepContext) -> bool:
        # An instance with no state, found not ready before and left alone, is not ready now either
        # while nothing its deps read has changed since (its retry and reschedule deps pass).
        if (
            ti.state is None
            and ti._unmet_since is not None
            and self._changed_at.get(ti.task_id, -1) < ti._unmet_since
        ):
            return False
        before = ti.state
        # Every dep is evaluated, as get_failed_dep_statuses does: each may set the state.
        met = True
        for dep in _DEPS:
            met = dep(ti, self, ctx) and met
        ti._unmet_since = ctx.epoch if not met and before is None and ti.state is None else None
        if not self._answered_by_cache(ti):
            self._dirty.add(ti.task_id)
        return met

    def _expand_mapped_task_if_needed(self, ti: TI) -> list[TI] | None:
        if ti.map_index >= 0:
            return None
        task = self.dag.task_dict[ti.task_id]
        if task.is_mapped:
            self.store.clear_task_instance(self.run.dag_id, self.run.run_id, ti.task_id, ti.map_index)
        try:
            return expand_mapped_task(task, self)
        except NotMapped:
            return None

    def _get_ready_tis(self, listed: list[TI]) -> tuple[list[TI], bool, bool]:
        """Airflow's, over the schedulable instances of ``listed`` (the table when the decision began);
        the finished ones are the context's snapshot, taken as it goes."""
        candidates = self._candidates()
        if not candidates:
            return [], False, False  # every schedulable instance, if any, is answered by the cache
        ctx = self.new_dep_context()
        try:
            return self._ready(ctx, candidates, listed)
        finally:
            self._ctx = None

    def _ready(self, ctx: DepContext, candidates: list[TI], listed: list[TI]) -> tuple[list[TI], bool, bool]:
        """Airflow's loop over the schedulable instances, in the listing's order, each checked when its
        turn comes. Those the unmet cache answers for are passed over unseen while nothing changes, so
        the loop starts with the others (``candidates``); once something changes, it goes on through
        every schedulable instance from where it is (:meth:`_rest_of_loop`)."""
        ready: list[TI] = []
        old_states: list[tuple[TI, str | None]] = []
        queue = list(candidates)  # expansions append their new instances, checked in this pass too
        expansion_happened = False
        revised: set[str] = set()
        changes: int | None = self._changes  # None once the loop goes through every instance
        i = 0
        while True:
            if changes is not None and self._changes != changes:
                queue = self._rest_of_loop(queue, i, len(candidates), listed, old_states)
                i, changes = 0, None
            if i >= len(queue):
                break
            ti = queue[i]
            i += 1
            old_state = ti.state
            if self._answered_by_cache(ti) or not self.are_dependencies_met(ti, ctx):
                old_states.append((ti, old_state))
                continue
            new_tis = None
            if ti.map_index < 0:
                new_tis = self._expand_mapped_task_if_needed(ti)
                if new_tis is not None:
                    queue.extend(new_tis)
                    expansion_happened = True
            if new_tis is None and ti.state in SCHEDULEABLE:
                if ti.task_id not in revised:
                    ready.extend(revise_map_indexes_if_mapped(self.dag.task_dict[ti.task_id], self))
                    revised.add(ti.task_id)
                if ti.state in SCHEDULEABLE:
                    ready.append(ti)
        changed = any(ti.state != old for ti, old in old_states)
        return ready, changed, expansion_happened

    def _rest_of_loop(
        self,
        queue: list[TI],
        done: int,
        candidates: int,
        listed: list[TI],
        old_states: list[tuple[TI, str | None]],
    ) -> list[TI]:
        """What is left of Airflow's loop after the ``done`` first of ``queue`` (the ``candidates`` first
        of which are candidates, the rest expansions) were checked, the last having changed something:
        every instance schedulable when the decision began and listed after it, then the expansions.
        Those passed over unseen before it are noted as checked, as they were: without a state."""
        earlier = self._decision_from or {}
        schedulable = [t for t in listed if earlier.get(t, t.state) in SCHEDULEABLE]
        last = queue[done - 1]
        at = next(k for k, t in enumerate(schedulable) if t is last)
        seen = set(queue[:done])
        old_states.extend((t, None) for t in schedulable[:at] if t not in seen)
        return schedulable[at + 1 :] + queue[candidates:]

    def _are_premature_tis(self, unfinished: list[TI], finished: list[TI]) -> tuple[bool, bool]:
        # Instances waiting out a retry delay or a sensor's poke interval count as runnable.
        ctx = self.new_dep_context(finished, ignore_in_retry_period=True, ignore_in_reschedule_period=True)
        runnable = any(self.are_dependencies_met(ut, ctx) for ut in unfinished)
        return runnable, ctx.have_changed_ti_states

    # -- the run's state -----------------------------------------------------------------------------

    def _tis_for_dagrun_state(self, tis: list[TI]) -> list[TI]:
        """Leaves decide the run's state; teardowns only with on_failure_fail_dagrun."""
        dag = self.dag

        def is_effective_leaf(task: Any) -> bool:
            for down_id in task.downstream_task_ids:
                down = dag.task_dict[down_id]
                if not down.is_teardown or down.on_failure_fail_dagrun:
                    return False
            return not task.is_teardown or task.on_failure_fail_dagrun

        def leaves() -> set[str]:
            leaf_ids = {t.task_id for t in dag.tasks if is_effective_leaf(t)}
            return leaf_ids or {t.task_id for t in dag.tasks if not t.downstream_list}

        leaf_ids = self._shaped(("leaves",), leaves)
        return [ti for ti in tis if ti.task_id in leaf_ids and ti.state != REMOVED]

    def update_state(self) -> list[TI]:
        """Decide what can be scheduled now and the run's state; the instances to schedule."""
        info = self.task_instance_scheduling_decisions()
        # How many are unfinished is all most passes read; the lists are made only when needed.
        any_unfinished = info.unfinished_count > 0
        should_schedule = (
            any_unfinished
            and not (self._turning_deadlock_check_off() and self.deadlock_check_off(info.unfinished_tis))
            and not info.deferred_count
        )
        are_runnable_tasks = True
        unfinished = None
        if should_schedule:
            are_runnable_tasks = bool(info.schedulable_tis or info.changed_tis)
            if not are_runnable_tasks:
                unfinished = info.unfinished_tis
                are_runnable_tasks, changed_by_upstream = self._are_premature_tis(
                    unfinished, info.finished_tis
                )
                if changed_by_upstream:
                    unfinished = [t for t in unfinished if t.state in UNFINISHED]
                    any_unfinished = bool(unfinished)
        leaves = [] if any_unfinished else self._tis_for_dagrun_state(info.tis)  # read only when all finished
        if not any_unfinished and any(ti.state in FAILED_STATES for ti in leaves):
            self.state = FAILED
            self._request_callback(False, "task_failure", self._last_finished(info.tis, FAILED))
        elif not any_unfinished and all(ti.state in SUCCESS_STATES for ti in leaves):
            self.state = SUCCESS
            self._request_callback(True, "success", self._last_finished(info.tis, SUCCESS))
        elif should_schedule and not are_runnable_tasks:
            self.state = FAILED  # deadlock: unfinished instances none of which can ever run
            finished_ids = {t.task_id for t in info.finished_tis}
            blocking = next(
                (
                    t
                    for t in unfinished or ()
                    if not self.dag.task_dict[t.task_id].upstream_task_ids.isdisjoint(finished_ids)
                ),
                None,
            )
            self._request_callback(False, "all_tasks_deadlocked", blocking)
        return info.schedulable_tis

    def deadlock_check_off(self, unfinished: list[TI]) -> bool:
        """Whether Airflow skips the deadlock check: an unfinished instance's task has depends_on_past or
        a max_active_tis_per_dag(run) limit, so a run none of whose instances can run stays running."""
        turning_off = self._turning_deadlock_check_off()
        return bool(turning_off) and any(t.task_id in turning_off for t in unfinished)

    def _turning_deadlock_check_off(self) -> frozenset[str]:
        """The tasks whose unfinished instances turn the deadlock check off."""

        def compute() -> frozenset[str]:
            return frozenset(
                task.task_id
                for task in self.dag.task_dict.values()
                if getattr(task, "depends_on_past", False)
                or getattr(task, "max_active_tis_per_dag", None) is not None
                or getattr(task, "max_active_tis_per_dagrun", None) is not None
            )

        return self._shaped(("deadlock check off",), compute)

    @staticmethod
    def _last_finished(tis: list[TI], state: str) -> TI | None:
        # max() keeps the first of equal end dates (a frozen clock), in the order the scheduler lists them.
        ended = [t for t in tis if t.state == state]
        return max(ended, key=lambda t: t.end_date or datetime.min.replace(tzinfo=UTC), default=None)

    def _request_callback(self, success: bool, reason: str, deciding: TI | None) -> None:
        from pytest_xcom import _compat

        if not (self.dag.on_success_callback if success else self.dag.on_failure_callback):
            return
        rule = _compat.DAG_CALLBACK_TI
        if rule == "deciding":
            ti = deciding
        else:
            # DagRun.get_last_ti: the last of the run's instances, whatever decided the run.
            listed = [t for t in self.tis.values() if t.state != REMOVED]
            if rule == "task_id":
                from natsort import natsorted

                listed = natsorted(listed, key=lambda t: t.task_id)
            ti = listed[-1] if listed else None
        self.callback = DagCallback(success, reason, ti)
