"""Explaining a failed ``==`` between a run's task states or XComs and a dict: what differs, key by key.

pytest's own dict diff shows a few differing items and hides the rest behind ``-vv``; a DAG run's
dicts are keyed by (task_id, map_index[, key]) tuples, and a tester wants each difference on a line of
its own: the key, then both sides' values. The results' dicts are plain dict subclasses
(:mod:`pytest_xcom.runner.results`), so ``==`` is a dict's and only the explanation changes.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["explain"]

_MAX_VALUE = 160


def explain(op: str, left: object, right: object, *, verbose: int = 0) -> list[str] | None:
    """The lines pytest shows for ``left == right``, or None to leave it to pytest."""
    results = sys.modules.get("pytest_xcom.runner.results")
    if op != "==" or results is None:  # no result exists before that module is imported
        return None
    kinds = (results.TaskStates, results.RunXComs, results.TaskXComs)
    ours_left, ours_right = isinstance(left, kinds), isinstance(right, kinds)
    if not (ours_left or ours_right) or not isinstance(left, Mapping) or not isinstance(right, Mapping):
        return None
    ours: Any = left if ours_left else right
    what = str(ours.what)
    if ours_left and ours_right:
        names = ("left", "right")
    else:
        names = ("the run", "expected") if ours_left else ("expected", "the run")
    return _diff(what, left, right, names, limit=None if verbose > 1 else _MAX_VALUE)


def _diff(
    what: str, left: Mapping[Any, Any], right: Mapping[Any, Any], names: tuple[str, str], limit: int | None
) -> list[str]:
    a, b = names
    differ, only_left, only_right, same = [], [], [], 0
    for key in _sorted_keys(set(left) | set(right)):
        if key not in right:
            only_left.append(f"  {key!r}: {_show(left[key], limit)}")
        elif key not in left:
            only_right.append(f"  {key!r}: {_show(right[key], limit)}")
        elif _equal(left[key], right[key]):
            same += 1
        else:
            differ.append(f"  {key!r}: {a} {_show(left[key], limit)}, {b} {_show(right[key], limit)}")
    counts = [f"{len(differ)} different"] if differ else []
    counts += [f"{len(only_left)} only in {a}"] if only_left else []
    counts += [f"{len(only_right)} only in {b}"] if only_right else []
    lines = [f"{what}: {a} == {b}: " + ", ".join(counts or ["equal keys and values"])]
    if differ:
        lines += ["different:", *differ]
    if only_left:
        lines += [f"only in {a}:", *only_left]
    if only_right:
        lines += [f"only in {b}:", *only_right]
    if same:
        lines.append(f"{same} equal {'entry' if same == 1 else 'entries'} not shown")
    return lines


def _equal(x: Any, y: Any) -> bool:
    try:
        return bool(x == y)
    except Exception:  # e.g. DataFrames, whose == is elementwise
        return False


def _sorted_keys(keys: set[Any]) -> list[Any]:
    try:
        return sorted(keys)
    except TypeError:  # keys of mixed shapes
        return sorted(keys, key=repr)


def _show(value: Any, limit: int | None) -> str:
    text = repr(value)
    if limit is not None and len(text) > limit:
        return text[: limit - 3] + "..."
    return text
