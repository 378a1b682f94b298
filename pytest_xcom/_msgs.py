"""User-facing wording, kept in one place so that messages stay consistent and reviewable."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(repr(n) for n in names)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def xcom_miss(
    task_id: str,
    key: str,
    map_index: int,
    *,
    keys_of_task: list[tuple[str, int]],
    tasks_that_pushed: list[str],
) -> str:
    """Why a pull of (task_id, key, map_index) finds nothing, and what there is instead."""
    where = f" at map_index {map_index}" if map_index != -1 else ""
    head = f"no XCom {key!r} from {task_id!r}{where}"
    if keys_of_task:
        pushed = _quoted(sorted({k for k, _ in keys_of_task}))
        same_key = sorted(mi for k, mi in keys_of_task if k == key)
        if same_key:
            return f"{head}; it pushed {key!r} at map_index {', '.join(map(str, same_key))}"
        return f"{head}; it pushed: {pushed}{did_you_mean(key, (k for k, _ in keys_of_task))}"
    if tasks_that_pushed:
        return (
            f"{head}; {task_id!r} pushed nothing in this run. Tasks that pushed: "
            f"{_quoted(tasks_that_pushed)}{did_you_mean(task_id, tasks_that_pushed)}"
        )
    return f"{head}; nothing was pushed in this run (seed upstream values with xcom_store.seed(...))"


def value_mismatch(task_id: str, key: str, expected: object, actual: object, pushed: str) -> str:
    return f"XCom {key!r} from {task_id!r}: expected {expected!r}, got {actual!r}\n{pushed}"


def pushed_summary(task_id: str, pushed: dict[tuple[str, int], object]) -> str:
    if not pushed:
        return f"{task_id!r} pushed nothing"
    lines = [f"{task_id!r} pushed:"]
    for (key, map_index), value in pushed.items():
        where = f"[{map_index}]" if map_index != -1 else ""
        lines.append(f"  {key}{where} = {value!r}")
    return "\n".join(lines)


TI_CONTEXT = (
    "RuntimeTaskInstance has no attribute 'context': in Airflow 3 a task instance does not carry the "
    "template context. Read the context your callable receives (`def task(**context): context['ds']`, "
    "or `get_current_context()`), and pass data between tasks with ti.xcom_push / ti.xcom_pull."
)

TI_PARAMS = (
    "RuntimeTaskInstance has no attribute 'params': read params from the context your callable "
    "receives (`context['params']`), or the task's declared params from `ti.task.params`."
)

PROVIDE_CONTEXT = (
    "`provide_context=True` was removed in Airflow 2: operators no longer accept it. Drop the argument; "
    "PythonOperator passes the context to any `**kwargs` (or named context arguments such as `ti`, "
    "`ds`, `params`) of your callable."
)

STANDIN_PARAMS_WITH_TASK = (
    "task_context(params=...) sets the params of a stand-in task, but you passed a real task that "
    "declares its own. Declare the params on the task or DAG, and pass conf={{...}} to override "
    "them as a triggered run would. (task: {task_id!r})"
)


def duplicate_run_id(dag_id: str, run_id: str, first: object, second: object) -> str:
    return (
        f"DAG {dag_id!r} already has a run with run_id {run_id!r} (dated {first}); a second run dated "
        f"{second} would get the same run_id, which Airflow refuses. A manual run_id is made from "
        "run_after, which defaults to now: with a frozen clock, pass run_after=... (or run_id=...) to "
        "tell the runs apart."
    )


def unknown_task(dag_id: str, task_id: str, task_ids: Iterable[str]) -> str:
    ids = sorted(task_ids)
    return f"DAG {dag_id!r} has no task {task_id!r}{did_you_mean(task_id, ids)}; its tasks: {_quoted(ids)}"


def unsupported_message(msg_type: str) -> str:
    return (
        f"pytest_xcom does not answer {msg_type} from a task yet; this call needs a real Airflow "
        "deployment (or dag.test()). Please report it if your task needs it."
    )


def dag_file_not_found(path: object) -> str:
    return f"DAG file not found: {path}"


def which_dag(path: object, dag_ids: list[str]) -> str:
    if not dag_ids:
        return f"{path} defines no DAG (did it fail to import, or is the DAG never created?)"
    return f"{path} defines {len(dag_ids)} DAGs ({_quoted(dag_ids)}): pass dag_id= to choose one"


def dag_not_in_file(path: object, dag_id: str, dag_ids: list[str]) -> str:
    return f"{path} defines no DAG {dag_id!r}; it defines: {_quoted(dag_ids)}{did_you_mean(dag_id, dag_ids)}"
