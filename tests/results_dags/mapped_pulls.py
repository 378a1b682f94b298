"""Mapped tasks whose instances push, skip, fail or return None, and downstream tasks that pull them."""

from __future__ import annotations

from airflow.exceptions import AirflowSkipException
from airflow.sdk import DAG, task, task_group


@task
def numbers():
    return [1, 2, 3, 4, 5]


@task
def each(x):
    if x == 2:
        raise AirflowSkipException("two is skipped")
    if x == 4:
        return None  # pushes nothing
    return {"x": x, "square": x * x}


@task
def each_with_key(x, ti=None):
    if x != 3:
        ti.xcom_push(key="note", value=f"note {x}")
    return x


@task(trigger_rule="all_done")
def collect(values):
    # What Airflow puts in place of a missing index (its NOTSET sentinel, before 3.3) is kept by its type's
    # name: serde could push it but not pull it back.
    return [v if isinstance(v, (int, dict, str)) else type(v).__name__ for v in values]


@task(trigger_rule="all_done")
def pull_all(ti=None):
    return {
        "each": ti.xcom_pull(task_ids="each"),
        "notes": ti.xcom_pull(task_ids="each_with_key", key="note"),
        "inner": ti.xcom_pull(task_ids="group.inner"),
        "gaps": ti.xcom_pull(task_ids="gaps.inner"),
    }


@task
def only_one(x):
    return x * 10


with DAG("mapped_pulls", schedule=None) as mapped_pulls:
    values = numbers()
    collect(each.expand(x=values))
    noted = each_with_key.expand(x=values)
    collect.override(task_id="collect_keyed")(noted)

    @task_group
    def group(x):
        @task
        def inner(y):
            return y + 100

        return inner(x)

    @task_group
    def gaps(x):
        @task
        def inner(y):
            if y == 3:
                raise AirflowSkipException("three is skipped")
            return y + 100

        return inner(x)

    grouped = group.expand(x=values)
    collect.override(task_id="collect_group")(grouped)
    with_gaps = gaps.expand(x=values)
    collect.override(task_id="collect_gaps")(with_gaps)
    single = only_one.expand(x=[7])
    collect.override(task_id="collect_single")(single)
    [noted, grouped, with_gaps, single] >> pull_all()


@task
def nothing():
    return []


with DAG("mapped_pulls_empty", schedule=None) as mapped_pulls_empty:
    collect(each.expand(x=nothing()))
