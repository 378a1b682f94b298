"""Dynamic task mapping, the scheduler's side: how many instances, expanding them, the mapped upstream dep.

Mirrors, each under Airflow's name:
- ``get_task_map_length`` (airflow/serialization/definitions/xcom_arg.py) and ``get_total_map_length``
  (airflow/models/expandinput.py) -> :func:`task_map_length`, :func:`total_map_length`;
- ``get_mapped_ti_count`` (airflow/serialization/definitions/mappedoperator.py);
- ``TaskMap.expand_mapped_task`` (airflow/models/taskmap.py) and ``DagRun._revise_map_indexes_if_mapped``;
- ``MappedTaskUpstreamDep`` (airflow/ti_deps/deps/mapped_task_upstream_dep.py);
- ``_get_relevant_map_indexes`` (airflow/models/taskinstance.py), the scheduler's version, which counts the
  common mapped group's expansion with ``get_mapped_ti_count``.

Each works on a :class:`~pytest_xcom.runner.dagrun.SchedulerDagRun`: its task instance rows stand for
the task_instance table, the test's store for the xcom and task_map tables.
"""

from __future__ import annotations

import functools
import operator
from typing import TYPE_CHECKING, Any

from pytest_xcom import _compat
from pytest_xcom.runner.states import FAILED, FINISHED, SKIPPED, SUCCESS, UNFINISHED, UPSTREAM_FAILED
from pytest_xcom.store import RETURN_KEY

if TYPE_CHECKING:
    from pytest_xcom.runner.dagrun import TI, SchedulerDagRun

__all__ = [
    "NotFullyPopulated",
    "NotMapped",
    "expand_mapped_task",
    "get_mapped_ti_count",
    "mapped_task_upstream_dep",
    "relevant_upstream_map_indexes",
    "revise_map_indexes_if_mapped",
]


class NotMapped(Exception):
    """The task is neither mapped nor in a mapped task group (Airflow's ``NotMapped``)."""


class NotFullyPopulated(Exception):
    """A mapped length is not known yet: an upstream has not pushed it (Airflow's ``NotFullyPopulated``)."""

    def __init__(self, missing: set[str]):
        super().__init__(f"missing: {sorted(missing)}")
        self.missing = missing


def _is_mapped(node: Any) -> bool:
    return bool(getattr(node, "is_mapped", False)) or isinstance(node, _compat.MappedTaskGroup)


# -- lengths ------------------------------------------------------------------------------------------


def task_map_length(arg: Any, dr: SchedulerDagRun) -> int | None:
    """``get_task_map_length``: how many items an XComArg maps into, or None while unknown."""
    if isinstance(arg, _compat.MapXComArg):
        return task_map_length(arg.arg, dr)
    if isinstance(arg, (_compat.ZipXComArg, _compat.ConcatXComArg)):
        lengths = [task_map_length(a, dr) for a in arg.args]
        if any(length is None for length in lengths):
            return None
        ready = [length for length in lengths if length is not None]
        if isinstance(arg, _compat.ConcatXComArg):
            return sum(ready)
        return max(ready) if _compat.is_arg_set(arg.fillvalue) else min(ready)
    if not isinstance(arg, _compat.PlainXComArg):  # pragma: no cover - a new XComArg kind
        raise NotImplementedError(f"pytest_xcom cannot tell the length of {type(arg).__name__}")
    upstream = arg.operator
    if upstream.is_mapped:
        if any(ti.state in UNFINISHED for ti in dr.tis_of(upstream.task_id)):
            return None  # not all of the expanded instances are done yet
        idents = dr.store.identities(dag_id=dr.run.dag_id, run_id=dr.run.run_id, task_id=upstream.task_id)
        return sum(1 for ident in idents if ident.map_index >= 0 and ident.key == RETURN_KEY)
    # The task_map row an unmapped task's push wrote (SetXCom.mapped_length), for map_index < 0 only.
    return dr.store.task_maps.get((dr.run.dag_id, dr.run.run_id, upstream.task_id, -1))


def total_map_length(expand_input: Any, dr: SchedulerDagRun) -> int:
    """``get_total_map_length`` of an expand input (``expand()``'s dict of lists, ``expand_kwargs()``)."""

    def length(value: Any) -> int | None:
        return task_map_length(value, dr) if isinstance(value, _compat.XComArg) else len(value)

    if isinstance(expand_input, _compat.DictOfListsExpandInput):
        if not expand_input.value:
            return 0
        lengths = {name: length(value) for name, value in expand_input.value.items()}
        missing = {name for name, n in lengths.items() if n is None}
        if missing:
            raise NotFullyPopulated(missing)
        return functools.reduce(operator.mul, (n for n in lengths.values() if n is not None), 1)
    total = length(expand_input.value)  # expand_kwargs(): one instance per dict
    if total is None:
        raise NotFullyPopulated({"expand_kwargs() argument"})
    return total


def _group_count(group: Any, dr: SchedulerDagRun) -> int:
    count = 1
    while group is not None:
        if isinstance(group, _compat.MappedTaskGroup):
            count *= total_map_length(group._expand_input, dr)
        group = group.parent_group
    return count


def get_mapped_ti_count(node: Any, dr: SchedulerDagRun) -> int:
    """How many instances a task (or a task group) has in this run; NotMapped / NotFullyPopulated."""
    if isinstance(node, _compat.MappedTaskGroup) or not hasattr(node, "task_id"):
        return _group_count(node, dr)
    group = dr.closest_mapped_task_group(node)
    if not node.is_mapped:
        if group is None:
            raise NotMapped(node.task_id)
        return _group_count(group, dr)
    current = total_map_length(node._get_specified_expand_input(), dr)
    return current if group is None else current * _group_count(group, dr)


# -- expansion ----------------------------------------------------------------------------------------


def expand_mapped_task(task: Any, dr: SchedulerDagRun) -> list[TI]:
    """``TaskMap.expand_mapped_task``: turn the unexpanded instance into map indexes 0..n-1.

    Returns the instances created (index 0 is the unexpanded one, renumbered in place, keeping its
    state). A length that cannot be known marks it upstream_failed; a zero length, skipped.
    """
    try:
        total: int | None = get_mapped_ti_count(task, dr)
    except NotFullyPopulated:
        total = None
    unmapped = dr.tis.get((task.task_id, -1))
    if unmapped is not None and unmapped.state not in UNFINISHED:
        unmapped = None
    expanded: list[TI] = []
    state = None
    if unmapped is not None:
        if total is None:
            dr.set_state(unmapped, UPSTREAM_FAILED)
        elif total < 1:
            dr.set_state(unmapped, SKIPPED)
        else:
            if (task.task_id, 0) not in dr.tis:
                dr.renumber(unmapped, 0)
                expanded.append(unmapped)
            else:
                dr.remove(unmapped)
            state = unmapped.state
    if total is None or total < 1:
        return expanded
    current_max = max((ti.map_index for ti in dr.tis_of(task.task_id)), default=0)
    for index in range(current_max + 1, total):
        expanded.append(dr.add_ti(task.task_id, index, state=state))
    return expanded


def revise_map_indexes_if_mapped(task: Any, dr: SchedulerDagRun) -> list[TI]:
    """``DagRun._revise_map_indexes_if_mapped``: create missing map indexes, mark extra ones removed."""
    try:
        total = get_mapped_ti_count(task, dr)
    except (NotMapped, NotFullyPopulated):
        return []
    existing = {ti.map_index: ti for ti in dr.tis_of(task.task_id)}
    for index, ti in existing.items():
        if index not in range(total):
            dr.set_state(ti, "removed")
    return [dr.add_ti(task.task_id, i) for i in range(total) if i not in existing]


# -- MappedTaskUpstreamDep ----------------------------------------------------------------------------


def mapped_task_upstream_dep(ti: TI, dr: SchedulerDagRun) -> bool:
    """Whether the tasks whose XComs this task maps over let it run; decides it when they did not succeed.

    A mapped task (or a task in a mapped group) whose list source failed or was skipped is marked
    upstream_failed / skipped, unless the trigger rule, evaluated after it, sets a state of its own (see
    :mod:`pytest_xcom.runner.dagrun` on the order). Reads the live states (a DB query in Airflow).
    """
    task = dr.dag.task_dict[ti.task_id]
    if task.is_mapped:
        dependencies = list(task.iter_mapped_dependencies())
    elif (group := dr.closest_mapped_task_group(task)) is not None:
        dependencies = list(group.iter_mapped_dependencies())
    else:
        return True
    # An expanded dependency did not fail or skip outright: only its unexpanded instance matters.
    dependency_tis = [dr.tis[(op.task_id, -1)] for op in dependencies if (op.task_id, -1) in dr.tis]
    if not dependency_tis:
        return True
    finished = {d.state for d in dependency_tis if d.state in FINISHED}
    if not finished or finished == {SUCCESS}:
        return True  # none finished yet (the trigger rule waits), or all succeeded
    if ti.state not in (FAILED, UPSTREAM_FAILED):
        if FAILED in finished or UPSTREAM_FAILED in finished:
            dr.set_state(ti, UPSTREAM_FAILED)
        elif SKIPPED in finished:
            dr.set_state(ti, SKIPPED)
    return False


# -- relevant upstream map indexes --------------------------------------------------------------------


def _common_mapped_group(node1: Any, node2: Any) -> Any:
    parent_ids = {g.group_id for g in node1.iter_mapped_task_groups()}
    return next((g for g in node2.iter_mapped_task_groups() if g.group_id in parent_ids), None)


def _is_further_mapped_inside(node: Any, container: Any) -> bool:
    if node.is_mapped:
        return True
    group = node.task_group
    while group is not None and group.group_id != container.group_id:
        if isinstance(group, _compat.MappedTaskGroup):
            return True
        group = group.parent_group
    return False


def relevant_upstream_map_indexes(
    task: Any, map_index: int, ti_count: int | None, relative: Any, dr: SchedulerDagRun
) -> int | range | None:
    """The map indexes of ``relative`` that instance ``map_index`` of ``task`` depends on; None: all."""
    if not ti_count:
        return None
    common = _common_mapped_group(task, relative)
    if common is None:
        return None
    ancestor_count = get_mapped_ti_count(common, dr)
    ancestor_index = map_index * ancestor_count // ti_count
    if not _is_further_mapped_inside(relative, common):
        return ancestor_index
    further = ti_count // ancestor_count
    return range(ancestor_index * further, ancestor_index * further + further)
