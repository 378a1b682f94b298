"""Rendering a task's template fields as the task runner does just before ``execute``.

The task instance is built as for ``run_task`` and handed to the task runner's own preparation step
(``task_runner._prepare``: ``prepare_for_execution``, the DAG's Jinja environment, ``render_templates``,
then the ``SetRenderedFields`` message the Rendered Template view is filled from). So TaskFlow arguments
and XComArgs resolve, XCom pulls read the test's store, template files are found through
``template_searchpath``, and ``user_defined_macros``/``_filters``, ``render_template_as_native_obj`` and
``template_undefined`` apply exactly as in Airflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pytest_xcom.context import TaskContextFactory, make_task_instance

__all__ = ["RenderedFields", "TaskRenderer", "render_task"]


def _prepare() -> Any:
    """The task runner's step before ``execute`` (to move into _compat; ``_prepare(ti, log, context)``,
    same signature 3.0-3.3; from 3.1 it also renders ``map_index_template`` early)."""
    from airflow.sdk.execution_time import task_runner

    return task_runner._prepare


class RenderedFields(dict):
    """{field: value} as ``execute`` receives it; ``.shown`` as Airflow's Rendered Template view shows it.

    The view's values are the ``SetRenderedFields`` message the task sent, as the API server stores it:
    serialized for JSON and with secrets masked (``***``): fields with a sensitive name and, from Airflow
    3.1, secrets the task registered (a connection's password), so they differ from ``execute``'s only for
    such values.
    """

    shown: dict[str, Any]
    task: Any

    def __init__(self, values: Mapping[str, Any], shown: Mapping[str, Any], task: Any):
        super().__init__(values)
        from pytest_xcom import _compat

        self.shown = _compat.rendered_fields_as_shown(dict(shown))
        self.task = task


def _as_operator(task: Any) -> Any:
    operator = getattr(task, "operator", task)  # what calling a @task function returns
    if not hasattr(operator, "template_fields"):
        raise TypeError(
            f"render_task() needs an operator or what calling a @task function returns, got {task!r}"
        )
    return operator


def _checked_params(task: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` validated against the task's and DAG's declared Params, as a triggered run's conf is."""
    import copy

    checked = {}
    for key, value in params.items():
        declared = task.params.get_param(key) if key in task.params else None
        if declared is None and task.has_dag() and key in task.dag.params:
            declared = task.dag.params.get_param(key)
        checked[key] = copy.deepcopy(declared).resolve(value) if declared is not None else value
    return checked


@dataclass
class TaskRenderer:
    """Renders tasks' template fields in one test's DAG runs, reading XComs from its store."""

    contexts: TaskContextFactory

    def __call__(
        self,
        task: Any,
        *,
        logical_date: datetime | date | str | None = None,
        run_after: datetime | date | str | None = None,
        run_id: str | None = None,
        conf: dict[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        map_index: int = -1,
        try_number: int = 1,
        variables: Mapping[str, Any] | None = None,
        connections: Mapping[str, Any] | None = None,
    ) -> RenderedFields:
        import structlog

        from pytest_xcom._process import worker_globals_restored
        from pytest_xcom.comms import installed
        from pytest_xcom.secrets import provide

        operator = _as_operator(task)
        if not operator.has_dag():
            self.contexts.standin_dag().add_task(operator)
        comms = self.contexts.store.channel()
        provide(comms, variables, connections)
        run = self.contexts.run_for(operator.dag, logical_date, run_after, run_id)
        ti = make_task_instance(operator, run, conf=conf, map_index=map_index, try_number=try_number)
        seen = len(comms.events)
        with installed(comms), worker_globals_restored():
            context = ti.get_template_context()
            context["params"].update(_checked_params(ti.task, params or {}))
            _prepare()(ti, structlog.get_logger(logger_name="task"), context)
        shown: dict[str, Any] = {}
        for event in comms.events[seen:]:
            if type(event).__name__ == "SetRenderedFields":
                shown = dict(event.rendered_fields)
        rendered = {name: getattr(ti.task, name) for name in ti.task.template_fields}
        return RenderedFields(rendered, shown, ti.task)


def render_task(task: Any, *, store: Any = None, **kwargs: Any) -> RenderedFields:
    """Render ``task``'s template fields as Airflow does before ``execute``: {field: rendered value}.

    XComs are pulled from ``store`` (seed them with ``store.seed``); a fresh store is used when none is
    given. Keyword arguments: ``logical_date``, ``run_after``, ``run_id``, ``conf``, ``params``,
    ``map_index``, ``try_number``, ``variables``, ``connections``.
    """
    from pytest_xcom.store import XComStore

    contexts = TaskContextFactory(store=store if store is not None else XComStore())
    try:
        return TaskRenderer(contexts)(task, **kwargs)
    finally:
        contexts.close()
