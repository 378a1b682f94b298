"""Tasks that use threads, and tests that run tasks from threads."""

from __future__ import annotations

import sys
import threading

import pytest
from airflow.sdk import DAG, task


@pytest.fixture
def busy_thread_switching():
    # Switch threads as often as the interpreter can, so that a push lands inside a pull's scan of the
    # store whenever the two are not serialised.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def test_pulls_while_another_thread_of_the_task_pushes(run_task, xcom_store, busy_thread_switching):
    for i in range(500):
        xcom_store.seed("upstream", i, key=f"seeded_{i}")

    @task
    def pull_while_pushing(ti=None):
        errors: list[BaseException] = []

        def push_many() -> None:
            try:
                for i in range(500):
                    ti.xcom_push(key=f"pushed_{i}", value=i)
            except BaseException as e:
                errors.append(e)

        pusher = threading.Thread(target=push_many)
        pusher.start()
        pulled = [ti.xcom_pull(task_ids="upstream", key=f"seeded_{i % 500}") for i in range(1000)]
        pusher.join(timeout=60)
        assert not pusher.is_alive(), "the pushing thread did not finish"
        if errors:
            raise errors[0]
        return sum(pulled)

    with DAG("threads_push_pull", schedule=None):
        op = pull_while_pushing()
    result = run_task(op)
    assert result.state == "success", result.error
    assert result.return_value == 2 * sum(range(500))
    assert len([k for k in result.xcoms if k.startswith("pushed_")]) == 500
