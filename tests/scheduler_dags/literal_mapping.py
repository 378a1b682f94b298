"""Mappings over literals: Airflow creates their map indexes when it creates the run."""

from __future__ import annotations

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task, task_group


@task
def double(x):
    return x * 2


@task
def add(a, b):
    return a + b


@task
def total(values):
    return sum(values)


@task
def boom():
    raise ValueError("boom")


with DAG("literal_expand", schedule=None):
    total(double.expand(x=[1, 2, 3]))
    add.expand_kwargs([{"a": 1, "b": 2}, {"a": 3, "b": 4}])


with DAG("literal_expand_after_failure", schedule=None):
    # Each literal map index is judged on its own: three upstream_failed instances, not one.
    mapped = double.expand(x=[1, 2, 3])
    boom() >> mapped
    total(mapped)


with DAG("literal_group", schedule=None):

    @task_group
    def pipeline(x):
        return double(add(x, 1))

    total(pipeline.expand(x=[1, 2, 3]))


with DAG("literal_expand_zero", schedule=None):
    after = EmptyOperator(task_id="after", trigger_rule="all_done")
    double.expand(x=[]) >> after


with DAG("literal_expand_after_branch", schedule=None):

    @task.branch
    def choose():
        return "other"

    other = EmptyOperator(task_id="other")
    mapped = double.expand(x=[1, 2])
    choose() >> [mapped, other]
