"""Mapped-upstream bookkeeping that the API server did for the worker before Airflow 3.2.

Up to 3.1 the server sends each starting task ``upstream_map_indexes`` in its TIRunContext: for every
upstream, which of its map indexes the task's XComArgs pull (``routes/task_instances.py``,
``_get_upstream_map_indexes``). The scheduler's trigger rule works out the relevant upstream instances
with ``TaskInstance.get_relevant_upstream_map_indexes``. From 3.2 the task SDK does both itself
(``task_mapping.get_relevant_map_indexes``). Here both are ported from 3.0/3.1, answering from the test's
store (the installed comms channel's) instead of the metadata DB.
"""

from __future__ import annotations

import functools
from typing import Any

from airflow.sdk.definitions._internal.expandinput import (
    DictOfListsExpandInput,
    ListOfDictsExpandInput,
    NotFullyPopulated,
)
from airflow.sdk.definitions.taskgroup import MappedTaskGroup
from airflow.sdk.definitions.xcom_arg import ConcatXComArg, MapXComArg, PlainXComArg, XComArg, ZipXComArg
from airflow.sdk.execution_time import task_runner
from airflow.sdk.execution_time.comms import GetTICount
from airflow.utils.state import State

from pytest_xcom._compat._refusals import StartRefused


def _xcom_arg_length(arg: Any, dag_id: str, run_id: str) -> int | None:
    # The server's get_task_map_length: the TaskMap row of an unmapped upstream, the count of return
    # values of a mapped one; None while an upstream has not pushed.
    if isinstance(arg, MapXComArg):
        return _xcom_arg_length(arg.arg, dag_id, run_id)
    if isinstance(arg, ZipXComArg | ConcatXComArg):
        lengths = [_xcom_arg_length(a, dag_id, run_id) for a in arg.args]
        if any(length is None for length in lengths):
            return None
        if isinstance(arg, ConcatXComArg):
            return sum(lengths)  # type: ignore[arg-type]
        return max(lengths) if not _is_notset(arg.fillvalue) else min(lengths)  # type: ignore[type-var]
    if not isinstance(arg, PlainXComArg):  # pragma: no cover - a new XComArg kind
        return None
    upstream = arg.operator
    comms = task_runner.SUPERVISOR_COMMS
    store = comms.store
    if upstream.get_needs_expansion():
        if _unfinished_instances(comms, dag_id, run_id, upstream.task_id):
            return None  # not all of the expanded instances are done yet
        idents = store.identities(dag_id=dag_id, run_id=run_id, task_id=upstream.task_id)
        return sum(1 for ident in idents if ident.map_index >= 0 and ident.key == "return_value")
    return store.pushed_length(dag_id, run_id, upstream.task_id, arg.key)


def _unfinished_instances(comms: Any, dag_id: str, run_id: str, task_id: str) -> bool:
    # The DAG runner counts the run's task_instance rows, as it answers GetTICount; a task run alone has
    # no other instances, so only its store speaks.
    if comms.ti_count is None:
        return False
    count = functools.partial(GetTICount, dag_id=dag_id, run_ids=[run_id], task_ids=[task_id])
    finished = [state.value for state in State.finished]
    return bool(comms.ti_count(count()) > comms.ti_count(count(states=finished)))


def _is_notset(value: Any) -> bool:
    from airflow.sdk.definitions._internal.types import ArgNotSet

    return isinstance(value, ArgNotSet)


def _total_map_length(expand_input: Any, dag_id: str, run_id: str) -> int | None:
    def length(value: Any) -> int | None:
        return _xcom_arg_length(value, dag_id, run_id) if isinstance(value, XComArg) else len(value)

    if isinstance(expand_input, DictOfListsExpandInput):
        total = 1
        for value in expand_input.value.values():
            n = length(value)
            if n is None:
                return None
            total *= n
        return total
    if isinstance(expand_input, ListOfDictsExpandInput):
        return length(expand_input.value)
    return None  # pragma: no cover - a new expand input kind


def server_upstream_map_indexes(
    task: Any, map_index: int, run_id: str, *, unknown_length_fails: bool = False
) -> dict[str, int | list[int] | None]:
    """``TIRunContext.upstream_map_indexes`` as the 3.0/3.1 API server computes it for ``task``.

    A mapped group whose length is not known yet (an upstream has not pushed; a task with trigger rule
    ``always`` can start that early) is sent as None by 3.1; 3.0's server fails the request
    (``unknown_length_fails``): NotFullyPopulated, a 500.
    """
    dag_id = task.dag_id
    own_group = task.get_closest_mapped_task_group()
    indexes: dict[str, int | list[int] | None] = {}
    for upstream in task.upstream_list:
        group = upstream.get_closest_mapped_task_group()
        if group is None:
            indexes[upstream.task_id] = None
        elif own_group == group:
            indexes[upstream.task_id] = map_index
        else:
            try:
                count: int | None = group.get_parse_time_mapped_ti_count()
            except NotFullyPopulated:
                count = _total_map_length(group._expand_input, dag_id, run_id)
            if count is None and unknown_length_fails:
                raise StartRefused(_internal_server_error(task, upstream, group))
            indexes[upstream.task_id] = list(range(count)) if count is not None else None
    return indexes


def _internal_server_error(task: Any, upstream: Any, group: Any) -> BaseException:
    import httpx
    from airflow.sdk.api.client import ServerResponseError

    from pytest_xcom import _msgs

    request = httpx.Request("PATCH", "http://localhost:8080/execution/task-instances/{id}/run")
    response = httpx.Response(500, json={"detail": {"message": "Internal server error"}}, request=request)
    message = _msgs.upstream_group_length_unknown(task.task_id, upstream.task_id, group.group_id)
    return ServerResponseError(message, request=request, response=response)


def _mapped_ti_count(group: Any, dag_id: str, run_id: str) -> int | None:
    # get_mapped_ti_count for a group: its expansion times that of every mapped group around it.
    try:
        return group.get_parse_time_mapped_ti_count()
    except NotFullyPopulated:
        total = 1
        for g in group.iter_mapped_task_groups():
            n = _total_map_length(g._expand_input, dag_id, run_id)
            if n is None:
                return None
            total *= n
        return total


def _common_ancestor_mapped_group(node1: Any, node2: Any) -> Any:
    if not node1.has_dag() or not node2.has_dag() or node1.dag_id != node2.dag_id:
        return None
    parent_group_ids = {g.group_id for g in node1.iter_mapped_task_groups()}
    common_groups = (g for g in node2.iter_mapped_task_groups() if g.group_id in parent_group_ids)
    return next(common_groups, None)


def _is_further_mapped_inside(operator: Any, container: Any) -> bool:
    if operator.is_mapped:
        return True
    task_group = operator.task_group
    while task_group is not None and task_group.group_id != container.group_id:
        if isinstance(task_group, MappedTaskGroup):
            return True
        task_group = task_group.parent_group
    return False


def get_relevant_map_indexes(
    task: Any, run_id: str, map_index: int, ti_count: int, relative: Any, dag_id: str
) -> int | range | None:
    """The map indexes of ``relative`` relevant to ``task[map_index]``, as the 3.0/3.1 scheduler sees it."""
    if not ti_count:
        return None
    common_ancestor = _common_ancestor_mapped_group(task, relative)
    if common_ancestor is None or common_ancestor.group_id is None:
        return None
    ancestor_ti_count = _mapped_ti_count(common_ancestor, dag_id, run_id)
    if not ancestor_ti_count:
        return None
    ancestor_map_index = map_index * ancestor_ti_count // ti_count
    if not _is_further_mapped_inside(relative, common_ancestor):
        return ancestor_map_index
    further_count = ti_count // ancestor_ti_count
    start = ancestor_map_index * further_count
    return range(start, start + further_count)
