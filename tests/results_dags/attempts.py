"""Every attempt notes itself in a module-level list, which the last task returns.

dag.test() runs every task in the process that called it, one after the other, so the list is the order
of its attempts; each pass here has one instance to run, so that order is fixed (inside a pass
dag.test()'s is not).
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, task

ran: list[list] = []


def note(ti):
    ran.append([ti.task_id, ti.map_index, ti.try_number])


@task
def start(ti=None):
    note(ti)
    return [1]


@task(retries=2, retry_delay=timedelta(0))
def flaky(x, ti=None):
    note(ti)
    if ti.try_number < 3:
        raise ValueError(f"try {ti.try_number}")
    return x


@task
def finish(values, ti=None):
    note(ti)
    return list(ran)


with DAG("attempts", schedule=None) as attempts:
    finish(flaky.expand(x=start()))
