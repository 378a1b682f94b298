"""Checking what a test passes to run_task, run_dag and task_context, before anything runs.

A wrong argument would otherwise fail deep inside Airflow or the runner with an AttributeError that
names neither the argument nor the fix. Each check raises a TypeError (wrong kind of thing) or a
ValueError (right kind, impossible value) worded in :mod:`pytest_xcom._msgs`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pytest_xcom import _compat, _msgs

__all__ = [
    "check_map_index",
    "check_run_dag_arguments",
    "check_run_task_arguments",
    "check_task_context_arguments",
]


def _abstract_operator() -> type:
    # The common base of BaseOperator and MappedOperator; to move into _compat with the other imports.
    from airflow.sdk.definitions._internal.abstractoperator import AbstractOperator

    return AbstractOperator


def _is_task(value: Any) -> bool:
    return isinstance(value, (_abstract_operator(), _compat.XComArg))


def _is_task_function(value: Any) -> bool:
    return callable(value) and hasattr(value, "function") and not hasattr(value, "task_id")


def _check_task(function: str, task: Any) -> None:
    if _is_task(task) or _is_task_function(task):
        return  # a @task function gets its own message where it is turned into an operator
    if isinstance(task, _compat.DAG):
        raise TypeError(_msgs.dag_given_for_task(function, task.dag_id))
    raise TypeError(_msgs.not_a_task(function, task))


def _check_date(function: str, name: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, (datetime, date, str)):
        raise TypeError(_msgs.not_a_date(function, name, value))
    if isinstance(value, str):
        from pytest_xcom.context import as_datetime

        try:
            as_datetime(value)
        except Exception as e:
            raise ValueError(_msgs.unparsable_date(function, name, value, e)) from None


def _check_mapping(function: str, name: str, value: Any) -> None:
    if value is not None and not isinstance(value, Mapping):
        raise TypeError(_msgs.not_a_mapping(function, name, value))
    if name in ("conf", "params") and value is not None:
        not_str = [k for k in value if not isinstance(k, str)]
        if not_str:
            raise TypeError(_msgs.non_str_keys(function, name, not_str))


def _check_int(function: str, name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(_msgs.not_an_int(function, name, value))
    if value < minimum:
        raise ValueError(_msgs.int_too_small(function, name, value, minimum))


def _check_run_fields(function: str, kwargs: Mapping[str, Any]) -> None:
    for name in ("logical_date", "run_after"):
        _check_date(function, name, kwargs.get(name))
    run_id = kwargs.get("run_id")
    if run_id is not None and (not isinstance(run_id, str) or not run_id):
        raise TypeError(_msgs.not_a_run_id(function, run_id))
    for name in ("conf", "variables", "connections", "params"):
        _check_mapping(function, name, kwargs.get(name))


def check_run_task_arguments(task: Any, **kwargs: Any) -> None:
    """Refuse what ``run_task(task, **kwargs)`` cannot run, saying what it expected."""
    _check_task("run_task", task)
    _check_run_fields("run_task", kwargs)
    _check_int("run_task", "map_index", kwargs.get("map_index", -1), -1)
    _check_int("run_task", "try_number", kwargs.get("try_number", 1), 1)


def check_run_dag_arguments(dag: Any, **kwargs: Any) -> None:
    """Refuse what ``run_dag(dag, **kwargs)`` cannot run, saying what it expected."""
    if not isinstance(dag, _compat.DAG):
        if _is_task(dag):
            raise TypeError(_msgs.task_given_for_dag(dag))
        raise TypeError(_msgs.not_a_dag(dag))
    _check_run_fields("run_dag", kwargs)


def check_task_context_arguments(task_id: Any = None, **kwargs: Any) -> None:
    """Refuse what ``task_context(task_id, **kwargs)`` cannot build, saying what it expected."""
    if task_id is not None and not isinstance(task_id, str):
        if _is_task(task_id):
            raise TypeError(_msgs.task_given_for_task_id(task_id))
        raise TypeError(_msgs.not_a_task_id(task_id))
    task = kwargs.get("task")
    if task is not None:
        _check_task("task_context(task=...)", task)
    dag = kwargs.get("dag")
    if dag is not None and not isinstance(dag, _compat.DAG):
        raise TypeError(_msgs.not_a_dag(dag, function="task_context(dag=...)"))
    _check_run_fields("task_context", kwargs)
    _check_int("task_context", "map_index", kwargs.get("map_index", -1), -1)
    _check_int("task_context", "try_number", kwargs.get("try_number", 1), 1)


# -- map indexes: which instances of a mapped task the scheduler would create ----------------------


class _Unknown(Exception):
    """An upstream value needed to count the instances is not in the store (the pull will say so)."""


def _upstream_length(arg: Any, store: Any, dag_id: str, run_id: str) -> int:
    if isinstance(arg, _compat.MapXComArg):
        return _upstream_length(arg.arg, store, dag_id, run_id)
    if isinstance(arg, _compat.ZipXComArg):
        lengths = [_upstream_length(a, store, dag_id, run_id) for a in arg.args]
        return max(lengths) if _compat.is_arg_set(arg.fillvalue) else min(lengths)
    if isinstance(arg, _compat.ConcatXComArg):
        return sum(_upstream_length(a, store, dag_id, run_id) for a in arg.args)
    if not isinstance(arg, _compat.PlainXComArg):
        raise _Unknown
    upstream = arg.operator
    if upstream.get_needs_expansion():
        idents = store.identities(dag_id=dag_id, run_id=run_id, task_id=upstream.task_id)
        indexes = {i.map_index for i in idents if i.map_index >= 0 and i.key == arg.key}
        if not indexes:
            raise _Unknown
        return len(indexes)
    length = store.pushed_length(dag_id, run_id, upstream.task_id, arg.key)
    if length is None:
        raise _Unknown
    return length


def _expand_input_length(expand_input: Any, store: Any, dag_id: str, run_id: str) -> int:
    def length(value: Any) -> int:
        if isinstance(value, _compat.XComArg):
            return _upstream_length(value, store, dag_id, run_id)
        return len(value)

    if isinstance(expand_input, _compat.DictOfListsExpandInput):
        return functools.reduce(lambda a, b: a * b, (length(v) for v in expand_input.value.values()), 1)
    return length(expand_input.value)  # expand_kwargs(): one instance per dict


def _instance_count(node: Any, store: Any, dag_id: str, run_id: str) -> int:
    if isinstance(node, _compat.MappedTaskGroup):
        count = _expand_input_length(node._expand_input, store, dag_id, run_id)
        group = node.parent_group
    else:
        count = (
            _expand_input_length(node._get_specified_expand_input(), store, dag_id, run_id)
            if (node.is_mapped)
            else 1
        )
        group = node.task_group
    while group is not None and not isinstance(group, _compat.MappedTaskGroup):
        group = group.parent_group
    return count if group is None else count * _instance_count(group, store, dag_id, run_id)


def check_map_index(task: Any, map_index: int, store: Any, dag_id: str, run_id: str) -> None:
    """Refuse a map index the scheduler would never create, given the upstream values in ``store``.

    Nothing is refused when the count cannot be known (an upstream value is missing): the task then
    fails pulling it, with the store's explanation of what was pushed instead.
    """
    if map_index < 0 or not task.get_needs_expansion():
        return
    try:
        count = _instance_count(task, store, dag_id, run_id)
    except _Unknown:
        return
    if map_index >= count:
        raise ValueError(_msgs.map_index_out_of_range(task.task_id, map_index, count))
