"""DAG-level callbacks: each writes what it got to the JSON-lines file named by PYTEST_XCOM_CALLBACK_LOG."""

from __future__ import annotations

import json
import os

from airflow.sdk import DAG, task


def _text(state):
    return None if state is None else str(getattr(state, "value", state))


def _record(name):
    def callback(context):
        ti = context.get("ti")
        line = {
            "dag_id": context["dag"].dag_id,
            "callback": name,
            "reason": context["reason"],
            "run_id": context["run_id"],
            "task_id": ti.task_id if ti is not None else None,
            "map_index": ti.map_index if ti is not None else None,
            "dag_run_state": _text(getattr(context.get("dag_run"), "state", None)),
            "has_logical_date": "logical_date" in context,
        }
        with open(os.environ["PYTEST_XCOM_CALLBACK_LOG"], "a") as f:
            f.write(json.dumps(line) + "\n")

    callback.__name__ = name
    return callback


def _raises(context):
    raise RuntimeError("the callback broke")


with DAG(
    "callback_success",
    schedule=None,
    on_success_callback=_record("on_success"),
    on_failure_callback=_record("on_failure"),
):

    @task
    def first():
        return 1

    @task
    def second(x):
        return x + 1

    @task
    def aside():
        return "a"

    second(first())
    aside()


with DAG(
    "callback_failure",
    schedule=None,
    on_success_callback=_record("on_success"),
    on_failure_callback=[_raises, _record("on_failure")],
):

    @task
    def ok():
        return 1

    @task
    def boom(x):
        raise ValueError("boom")

    @task
    def after(x):
        return x

    after(boom(ok()))


with DAG("callback_success_raises", schedule=None, on_success_callback=_raises):

    @task
    def only():
        return 1

    only()
