"""Mapped task groups: each task of the group is judged per map index, against the same index upstream."""

from __future__ import annotations

from airflow.sdk import DAG, task, task_group


@task
def numbers():
    return [1, 2, 3]


@task
def fail_on_two(x):
    if x == 2:
        raise ValueError("two")
    return x


@task(trigger_rule="all_done")
def report(x, ti=None):
    return [ti.map_index, x]


@task(trigger_rule="one_failed")
def on_failure(x):
    return f"failed {x}"


@task
def collect(values):
    return sorted(v for v in values if v is not None)


with DAG("group_fails_one_index", schedule=None):

    @task_group
    def per_item(x):
        checked = fail_on_two(x)
        checked >> on_failure(x)
        return report(checked)

    collect(per_item.expand(x=numbers()))


with DAG("group_literal_fails_one_index", schedule=None):

    @task_group
    def per_literal(x):
        checked = fail_on_two(x)
        checked >> on_failure(x)
        return report(checked)

    per_literal.expand(x=[1, 2, 3])


@task
def plus_one(x):
    return x + 1


with DAG("group_all_success_after_failed_index", schedule=None):

    @task_group
    def guarded(x):
        return plus_one(fail_on_two(x))

    collect(guarded.expand(x=numbers()))


@task(trigger_rule="always")
def finish():
    return "finished"


@task
def start():
    return "started"


# The always-task starts in the first pass, while numbers waits for start: the group it follows has no
# length yet (Airflow 3.0's API server fails that start; 3.1 and later run it). Within a pass dag.test()
# runs tasks in a set's order, so numbers must not be ready in the same pass.
with DAG("group_length_unknown_at_start", schedule=None):
    finished = finish()

    @task_group
    def doubled(x):
        return fail_on_two.override(task_id="keep")(x)

    source = numbers()
    start() >> source
    doubled.expand(x=source) >> finished
