"""A teardown whose direct upstreams are done while a task between its setup and itself is not.

From Airflow 3.2 the teardown also waits for every task between its setup and itself
(TriggerRuleDep's ``_evaluate_teardown_scope``); before, its direct upstreams alone decide.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, task


@task
def create():
    return "resource"


@task
def quick():
    return "quick"


# Long enough that the one_success join and the teardown run in passes of their own, before the retry.
@task(retries=1, retry_delay=timedelta(seconds=3))
def slow(ti=None):
    if ti.try_number < 2:
        raise ValueError(f"try {ti.try_number}")
    return "slow"


@task
def after_slow():
    return "after slow"


@task(trigger_rule="one_success")
def join():
    return "joined"


@task
def delete(ti=None):
    # What the teardown saw of the slow branch when it ran.
    return ti.xcom_pull(task_ids="after_slow")


with DAG("teardown_waits_for_scope", schedule=None):
    resource = create()
    fast = quick()
    slow_one = slow()
    later = after_slow()
    joined = join()
    resource >> [fast, slow_one]
    slow_one >> later
    [fast, later] >> joined
    joined >> delete().as_teardown(setups=resource)
