"""Retries: while a task waits up_for_retry the scheduler goes on evaluating the others."""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task, task_group

NO_DELAY = timedelta(0)


# Long enough that the one_success task runs in a pass of its own, before the retry (with no delay the
# two would share a pass, whose order dag.test() leaves to a set's hashing).
@task(retries=1, retry_delay=timedelta(seconds=3))
def flaky(ti=None):
    if ti.try_number < 2:
        raise ValueError(f"try {ti.try_number}")
    return "flaky ok"


@task
def steady():
    return "steady ok"


@task(trigger_rule="one_success")
def first_success(ti=None):
    # Runs as soon as one upstream succeeded: flaky is still up_for_retry then, and has pushed nothing.
    return ti.xcom_pull(task_ids="flaky")


@task(retries=2, retry_delay=NO_DELAY)
def always_fails():
    raise ValueError("never")


with DAG("retry_one_success", schedule=None):
    [flaky(), steady()] >> first_success()


with DAG("retry_one_failed", schedule=None):
    failing = always_fails()
    fine = steady()
    watcher = EmptyOperator(task_id="watcher", trigger_rule="one_failed")
    skipper = EmptyOperator(task_id="skipper", trigger_rule="all_skipped")
    [failing, fine] >> watcher
    [failing, fine] >> skipper


with DAG("retry_in_mapped_group", schedule=None):
    # Before Airflow 3.3 each any_ok instance is triggered by any flaky_item instance's success, so
    # any_ok[1] runs while flaky_item[1] waits for its retry; from 3.3 it waits for flaky_item[1]. The
    # delay keeps the retry out of any_ok[1]'s pass (sharing one, their order is a set's).

    @task(retries=1, retry_delay=timedelta(seconds=3))
    def flaky_item(x, ti=None):
        if x == 2 and ti.try_number < 2:
            raise ValueError("first try of 2")
        return x

    @task(trigger_rule="one_success")
    def any_ok(x):
        return x

    @task_group
    def items(x):
        return any_ok(flaky_item(x))

    items.expand(x=[1, 2, 3])


with DAG("retry_delays_order", schedule=None):
    # Two retries with different delays: the shorter one retries first on the run's clock.

    @task(retries=1, retry_delay=timedelta(seconds=4))
    def slow_retry(ti=None):
        if ti.try_number < 2:
            raise ValueError("later")
        return ["slow", ti.xcom_pull(task_ids="fast_retry")]

    @task(retries=1, retry_delay=timedelta(seconds=1))
    def fast_retry(ti=None):
        if ti.try_number < 2:
            raise ValueError("sooner")
        return ["fast", ti.xcom_pull(task_ids="slow_retry")]

    slow_retry()
    fast_retry()
