"""``TriggerRuleDep`` (airflow/ti_deps/deps/trigger_rule_dep.py), evaluated with ``flag_upstream_failed``.

Read it beside Airflow's: the nested functions keep their names (``_get_relevant_upstream_map_indexes``,
``_is_relevant_upstream``, ``_evaluate_setup_constraint``, ``_evaluate_direct_relatives``,
``_evaluate_teardown_scope``). Finished upstream instances come from the pass's snapshot
(``DepContext.finished_tis``, taken when the pass starts); how many upstream instances exist is read
live, as Airflow's count query reads the table.
"""

from __future__ import annotations

import collections.abc
import functools
from collections import Counter
from typing import TYPE_CHECKING, Any, NamedTuple

from pytest_xcom import _compat
from pytest_xcom.runner.mapped import (
    NotFullyPopulated,
    NotMapped,
    get_mapped_ti_count,
    relevant_upstream_map_indexes,
)
from pytest_xcom.runner.states import FAILED, REMOVED, SKIPPED, SUCCESS, UPSTREAM_FAILED

if TYPE_CHECKING:
    from pytest_xcom.runner.dagrun import TI, DepContext, SchedulerDagRun

__all__ = ["trigger_rule_dep"]

TR = _compat.TriggerRule


class _UpstreamTIStates(NamedTuple):
    success: int
    skipped: int
    failed: int
    upstream_failed: int
    removed: int
    done: int
    success_setup: int
    skipped_setup: int

    @classmethod
    def calculate(cls, finished_upstreams: collections.abc.Iterable[Any], dag: Any) -> _UpstreamTIStates:
        counter: Counter[str] = Counter()
        setup_counter: Counter[str] = Counter()
        for ti in finished_upstreams:
            counter[ti.state] += 1
            if dag.task_dict[ti.task_id].is_setup:
                setup_counter[ti.state] += 1
        return cls(
            success=counter[SUCCESS],
            skipped=counter[SKIPPED],
            failed=counter[FAILED],
            upstream_failed=counter[UPSTREAM_FAILED],
            removed=counter[REMOVED],
            done=sum(counter.values()),
            success_setup=setup_counter[SUCCESS],
            skipped_setup=setup_counter[SKIPPED],
        )


def trigger_rule_dep(ti: TI, dr: SchedulerDagRun, ctx: DepContext) -> bool:
    """Whether ``ti``'s trigger rule is met; sets skipped / upstream_failed / removed as Airflow does."""
    task = dr.dag.task_dict[ti.task_id]
    if not task.upstream_task_ids:
        return True
    if task.trigger_rule == TR.ALWAYS:
        return True
    return _evaluate_trigger_rule(ti, task, dr, ctx)


def _evaluate_trigger_rule(ti: TI, task: Any, dr: SchedulerDagRun, ctx: DepContext) -> bool:
    dag = dr.dag
    in_mapped_group = dr.closest_mapped_task_group(task) is not None

    @functools.cache
    def _get_expanded_ti_count() -> int:
        return get_mapped_ti_count(task, dr)

    def _iter_expansion_dependencies(task_group: Any) -> collections.abc.Iterator[str]:
        if task.is_mapped:
            for op in task.iter_mapped_dependencies():
                yield op.task_id
        if task_group is not None:
            for group in task_group.iter_mapped_task_groups():
                for op in group.iter_mapped_dependencies():
                    yield op.task_id

    @functools.cache
    def _get_relevant_upstream_map_indexes(upstream_id: str) -> int | range | None:
        # A task in a mapped group must not be skipped by a rule that one upstream can satisfy before
        # the group has expanded (Airflow #34023, #39801); which instances and rules, by version.
        if _compat.fast_triggered_in_mapped_group(task, ti.map_index):
            if upstream_id not in set(_iter_expansion_dependencies(task.task_group)):
                return None
        try:
            expanded_ti_count = _get_expanded_ti_count()
        except (NotFullyPopulated, NotMapped):
            return None
        return relevant_upstream_map_indexes(
            task, ti.map_index, expanded_ti_count, dag.task_dict[upstream_id], dr
        )

    def _is_relevant_upstream(upstream: Any, relevant_ids: collections.abc.Set[str]) -> bool:
        if upstream.task_id not in relevant_ids:
            return False
        if not in_mapped_group or upstream.map_index < 0:
            return True
        relevant = _get_relevant_upstream_map_indexes(upstream.task_id)
        if relevant is None or relevant == upstream.map_index:
            return True
        return isinstance(relevant, collections.abc.Container) and upstream.map_index in relevant

    def _count_upstream_tis(relevant_ids: collections.abc.Iterable[str]) -> int:
        """The instances of these upstreams this ti depends on, in any state (Airflow's count query)."""
        count = 0
        for upstream_id in relevant_ids:
            map_indexes = _get_relevant_upstream_map_indexes(upstream_id) if in_mapped_group else None
            for up in dr.tis_of(upstream_id):
                if map_indexes is None or up.map_index < 0:
                    count += 1
                elif isinstance(map_indexes, collections.abc.Container):
                    count += up.map_index in map_indexes
                else:
                    count += up.map_index == map_indexes
        return count

    def _finished_relevant(relevant_ids: collections.abc.Set[str]) -> list[Any]:
        return [x for x in ctx.finished_of(relevant_ids) if _is_relevant_upstream(x, relevant_ids)]

    def _evaluate_setup_constraint(relevant_setups: dict[str, Any]) -> collections.abc.Iterator[bool]:
        """Yields, for a failing status, whether it changed ti's state."""
        indirect = {k: v for k, v in relevant_setups.items() if k not in task.upstream_task_ids}
        states = _UpstreamTIStates.calculate(_finished_relevant(indirect.keys()), dag)
        if not any(t.get_needs_expansion() for t in indirect.values()):
            upstream = len(indirect)
        else:
            upstream = _count_upstream_tis(indirect)
        new_state = None
        if states.upstream_failed or states.failed:
            new_state = UPSTREAM_FAILED
        elif states.skipped:
            new_state = SKIPPED
        elif states.removed and states.success and ti.map_index > -1 and ti.map_index >= states.success:
            new_state = REMOVED
        changed = new_state is not None and dr.set_state(ti, new_state, ctx)
        non_successes = upstream - states.success
        if ti.map_index > -1:
            non_successes -= states.removed
        if non_successes > 0:
            yield changed

    def _evaluate_direct_relatives() -> bool:
        upstream_tasks = {t.task_id: t for t in task.upstream_list}
        rule = task.trigger_rule
        s = _UpstreamTIStates.calculate(_finished_relevant(set(task.upstream_task_ids)), dag)
        success, skipped, failed = s.success, s.skipped, s.failed
        upstream_failed, removed, done = s.upstream_failed, s.removed, s.done
        if not any(t.get_needs_expansion() for t in upstream_tasks.values()):
            upstream = len(upstream_tasks)
            upstream_setup = sum(1 for t in upstream_tasks.values() if t.is_setup)
        else:
            upstream = _count_upstream_tis(upstream_tasks)
            upstream_setup = _count_upstream_tis(k for k, t in upstream_tasks.items() if t.is_setup)
        upstream_done = done >= upstream

        new_state = None
        if rule == TR.ALL_SUCCESS:
            if upstream_failed or failed:
                new_state = UPSTREAM_FAILED
            elif skipped:
                new_state = SKIPPED
            elif removed and success and ti.map_index > -1 and ti.map_index >= success:
                new_state = REMOVED
        elif rule == TR.ALL_FAILED:
            if success or skipped:
                new_state = SKIPPED
        elif rule == TR.ONE_SUCCESS:
            if upstream_done and done == skipped:
                new_state = SKIPPED
            elif upstream_done and success <= 0:
                new_state = UPSTREAM_FAILED
        elif rule == TR.ONE_FAILED:
            if upstream_done and not (failed or upstream_failed):
                new_state = SKIPPED
        elif rule == TR.ONE_DONE:
            if upstream_done and not (failed or success):
                new_state = SKIPPED
        elif rule == TR.NONE_FAILED:
            if upstream_failed or failed:
                new_state = UPSTREAM_FAILED
        elif rule == TR.NONE_FAILED_MIN_ONE_SUCCESS:
            if upstream_failed or failed:
                new_state = UPSTREAM_FAILED
            elif skipped == upstream:
                new_state = SKIPPED
            elif upstream_done and success == 0:
                new_state = UPSTREAM_FAILED
        elif rule == TR.NONE_SKIPPED:
            if skipped:
                new_state = SKIPPED
        elif rule == TR.ALL_SKIPPED:
            if success or failed or upstream_failed:
                new_state = SKIPPED
        elif rule == TR.ALL_DONE_MIN_ONE_SUCCESS:
            if skipped > 0:
                new_state = SKIPPED
            elif success + failed + upstream_failed + removed >= upstream - skipped and success == 0:
                new_state = UPSTREAM_FAILED
        elif rule == TR.ALL_DONE_SETUP_SUCCESS:
            if upstream_done and upstream_setup and s.skipped_setup >= upstream_setup:
                new_state = SKIPPED
            elif upstream_done and upstream_setup and s.success_setup == 0:
                new_state = UPSTREAM_FAILED
        if new_state is not None:
            dr.set_state(ti, new_state, ctx)

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
            TR.ALL_DONE_SETUP_SUCCESS: upstream_done and not (upstream_setup and not s.success_setup),
            TR.ALL_DONE_MIN_ONE_SUCCESS: skipped == 0
            and success + failed + upstream_failed >= upstream - skipped - removed
            and success > 0,
        }.get(rule)
        if met is None:
            raise ValueError(f"pytest_xcom cannot evaluate trigger rule {rule!r} of task {task.task_id!r}")
        return met

    def _evaluate_teardown_scope() -> bool:
        setup_ids = {t.task_id for t in task.upstream_list if t.is_setup}
        indirect_ids = dr.flat_relative_ids(task, upstream=True) - set(task.upstream_task_ids)
        if not indirect_ids:
            return True
        in_scope = set()
        for setup_id in setup_ids:
            in_scope |= indirect_ids & dr.flat_relative_ids(dag.task_dict[setup_id], upstream=False)
        if not in_scope:
            return True
        done = len(_finished_relevant(in_scope))
        if not any(dag.task_dict[t].get_needs_expansion() for t in in_scope):
            expected = len(in_scope)
        else:
            expected = _count_upstream_tis(in_scope)
        return done >= expected

    if not task.is_teardown:
        met = True
        if relevant_setups := {t.task_id: t for t in dr.upstreams_only_setups(task)}:
            for changed in _evaluate_setup_constraint(relevant_setups):
                met = False
                if changed:
                    return False  # already marked skipped or upstream_failed: no need for the rule
        return _evaluate_direct_relatives() and met
    if not _evaluate_direct_relatives():
        return False
    return _evaluate_teardown_scope() if _compat.TEARDOWN_WAITS_FOR_SCOPE else True
