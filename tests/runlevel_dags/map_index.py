"""Rendered map indexes: untemplated mapped, templated mapped, templated unmapped, plain unmapped."""

from __future__ import annotations

from airflow.sdk import DAG, get_current_context, task

with DAG("rendered_map_index", schedule=None):

    @task
    def plain_mapped(x):
        return x

    @task(map_index_template="item-{{ task.op_kwargs['x'] }}")
    def named_mapped(x):
        return x

    @task(map_index_template="{{ my_label }}")
    def labelled_in_task(x):
        get_current_context()["my_label"] = f"label-{x}"
        return x

    @task(map_index_template="unmapped-{{ ds }}")
    def named_unmapped():
        return 0

    @task
    def plain():
        return 1

    plain_mapped.expand(x=[1, 2])
    named_mapped.expand(x=["a", "b"])
    labelled_in_task.expand(x=[3])
    named_unmapped()
    plain()
