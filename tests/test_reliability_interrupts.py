"""Ctrl-C during a run stops the test session; a task raising KeyboardInterrupt only fails.

Each case runs a pytest session of its own in a subprocess: a real SIGINT must reach the session's main
thread, and its outcome (interrupted or passed) is the session's.
"""

from __future__ import annotations

import signal

INTERRUPTED_BY_SIGINT = """
    import os
    import signal

    from airflow.sdk import DAG, task

    def test_ctrl_c_during_a_dag_run(run_dag):
        with DAG("interrupted", schedule=None) as dag:

            @task
            def press_ctrl_c():
                os.kill(os.getpid(), signal.SIGINT)
                return "not reached"

            @task
            def after(value):
                return value

            after(press_ctrl_c())
        run_dag(dag)

    def test_never_started():
        pass
"""

RAISES_KEYBOARD_INTERRUPT = """
    import signal

    from airflow.sdk import DAG, task

    def test_a_task_raising_keyboard_interrupt_fails(run_dag):
        handler_before = signal.getsignal(signal.SIGINT)
        with DAG("raises", schedule=None) as dag:

            @task
            def raise_it():
                raise KeyboardInterrupt("from the task")

            raise_it()
        result = run_dag(dag)
        assert result.state == "failed"
        assert result.task_states == {("raise_it", -1): "failed"}
        assert isinstance(result["raise_it"].error, KeyboardInterrupt)
        assert signal.getsignal(signal.SIGINT) is handler_before
"""


def test_sigint_during_a_run_stops_the_session(pytester):
    pytester.makepyfile(INTERRUPTED_BY_SIGINT)
    # The session starts as from a terminal, where Ctrl-C is not ignored: a suite run as a background job
    # (``cmd &`` in a script) ignores SIGINT, and a child process inherits that.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = pytester.runpytest_subprocess("-p", "pytest_xcom", "-p", "no:randomly", timeout=300)
    finally:
        signal.signal(signal.SIGINT, previous)
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*", "*interrupted (SIGINT) while a task was running*"])
    result.stdout.no_fnmatch_line("*1 passed*")
    assert result.ret == 2  # pytest's exit code for an interrupted session


def test_a_task_raising_keyboard_interrupt_itself_only_fails(pytester):
    pytester.makepyfile(RAISES_KEYBOARD_INTERRUPT)
    result = pytester.runpytest_subprocess("-p", "pytest_xcom", "-p", "no:randomly", timeout=300)
    result.assert_outcomes(passed=1)
