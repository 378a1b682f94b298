"""Tasks that use threads, and tests that run tasks from threads."""

from __future__ import annotations

import os
import signal
import sys
import threading

import pytest
from airflow.sdk import DAG, get_current_context, task
from airflow.sdk.definitions.param import ParamsDict

import pytest_xcom
from pytest_xcom import _compat, _process


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


def _dag_meeting_at(barrier: threading.Barrier, dag_id: str) -> DAG:
    with DAG(dag_id, schedule=None) as dag:

        @task
        def extract(**context) -> dict:
            # Both threads' tasks are running here at once before either goes on.
            barrier.wait(timeout=60)
            current = get_current_context()
            return {"dag": current["dag"].dag_id, "run": context["run_id"], "factor": context["params"]["f"]}

        @task
        def load(row: dict, **context) -> str:
            barrier.wait(timeout=60)
            pulled = context["ti"].xcom_pull(task_ids="extract")
            assert pulled == row
            return f"{row['dag']}:{row['factor'] * 10}:{os.environ['AIRFLOW_CTX_DAG_ID']}"

        load(extract())
    dag.params = ParamsDict({"f": 0})
    return dag


def _in_thread(function, *args, **kwargs):
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["result"] = function(*args, **kwargs)
        except BaseException as e:
            outcome["error"] = e

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


def _joined(thread: threading.Thread, outcome: dict):
    thread.join(timeout=120)
    assert not thread.is_alive(), "the thread running the DAG did not finish"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def test_run_dag_from_a_thread_other_than_the_main_one():
    dag = _dag_meeting_at(threading.Barrier(1), "from_a_thread")
    result = _joined(*_in_thread(pytest_xcom.run_dag, dag, conf={"f": 4}))
    assert result.state == "success", {k: t.error for k, t in result.tasks.items()}
    assert result["load"].return_value == "from_a_thread:40:from_a_thread"


def test_two_threads_running_dags_at_once_each_get_their_own_results():
    barrier = threading.Barrier(2)
    comms_before = _compat.get_supervisor_comms()
    runs = [
        _in_thread(pytest_xcom.run_dag, _dag_meeting_at(barrier, f"concurrent_{n}"), conf={"f": n})
        for n in (1, 2)
    ]
    results = [_joined(*run) for run in runs]
    for n, result in zip((1, 2), results, strict=True):
        assert result.state == "success", {k: t.error for k, t in result.tasks.items()}
        assert result["extract"].return_value["dag"] == f"concurrent_{n}"
        assert result["load"].return_value.startswith(f"concurrent_{n}:{n * 10}:")
    # What the runs changed process-wide is back as it was.
    assert _compat.get_supervisor_comms() is comms_before
    assert signal.signal is _process._real_signal
    assert not [name for name in os.environ if name.startswith("AIRFLOW_CTX_")]


def test_run_task_from_threads_with_the_tests_store(run_task, xcom_store):
    barrier = threading.Barrier(2)
    xcom_store.seed("upstream", 5)
    with DAG("threads_one_store", schedule=None):

        @task
        def scale(factor: int, ti=None) -> int:
            barrier.wait(timeout=60)
            return ti.xcom_pull(task_ids="upstream") * factor

        ops = [scale.override(task_id=f"scale_{n}")(n) for n in (2, 3)]
    runs = [_in_thread(run_task, op) for op in ops]
    results = [_joined(*run) for run in runs]
    assert [r.return_value for r in results] == [10, 15], [r.error for r in results]
    xcom_store.assert_pushed("scale_2", value=10)
    xcom_store.assert_pushed("scale_3", value=15)


def test_tasks_run_from_two_threads_on_one_store_keep_their_own_outcome(run_task, xcom_store):
    first_running, second_running = threading.Event(), threading.Event()
    with DAG("threads_own_outcome", schedule=None):

        @task
        def first(word: str) -> str:
            first_running.set()
            assert second_running.wait(timeout=60)
            return word

        @task
        def second(word: str) -> str:
            second_running.set()
            return word

        first_op = first("{{ task.task_id }}-1")
        second_op = second("{{ task.task_id }}-2")
    # The second task starts and ends while the first is inside execute.
    first_run = _in_thread(run_task, first_op)
    assert first_running.wait(timeout=60)
    second_result = _joined(*_in_thread(run_task, second_op))
    first_result = _joined(*first_run)
    assert (first_result.state, second_result.state) == ("success", "success")
    # What the Rendered Template view shows comes from the SetRenderedFields message each task sent.
    assert "first-1" in str(first_result.rendered.shown["op_args"])
    assert "second-2" in str(second_result.rendered.shown["op_args"])
