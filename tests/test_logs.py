"""Task logs are captured as a worker writes them, kept with the result, and shown when a test fails."""

from __future__ import annotations

import logging

import pytest
import structlog
from airflow.sdk import DAG, task


def _dag() -> DAG:
    with DAG("logging_dag", schedule=None) as dag:

        @task
        def extract() -> int:
            structlog.get_logger("extract").info("fetched rows", rows=3)
            logging.getLogger("extract.stdlib").warning("slow source")
            return 3

        @task
        def load(rows: int) -> None:
            raise ValueError(f"cannot load {rows} rows")

        load(extract())
    return dag


def test_a_task_s_log_lines_are_in_its_result(run_dag):
    result = run_dag(_dag())
    lines = result.logs("extract")
    fetched = next(line for line in lines if line.event == "fetched rows")
    assert fetched.level == "info" and fetched.fields["rows"] == 3
    assert "slow source" in lines.messages
    assert "Done. Returned value was: 3" in lines.text
    assert result["extract"].logs.messages == lines.messages
    assert any(line.level == "error" for line in result.logs("load"))
    assert len(result.logs("never_ran")) == 0


def test_run_task_captures_the_try_s_logs(run_task):
    result = run_task(_dag().task_dict["extract"])
    assert "fetched rows" in result.logs.messages


def test_task_logs_are_not_printed(run_dag, capsys):
    run_dag(_dag())
    out, err = capsys.readouterr()
    assert "fetched rows" not in out + err


def test_logging_outside_tasks_is_left_as_it_was(run_dag):
    before = structlog.get_config()
    handlers = list(logging.getLogger().handlers)
    run_dag(_dag())
    assert structlog.get_config() == before
    assert logging.getLogger().handlers == handlers


@pytest.mark.parametrize("passes", [True, False])
def test_a_failing_test_s_report_shows_the_run_and_the_failed_task_s_logs(pytester, passes):
    pytester.makepyfile(
        f"""
        import structlog
        from airflow.sdk import DAG, task

        with DAG("reported", schedule=None) as dag:

            @task
            def extract():
                structlog.get_logger().info("fetched rows", rows=3)
                return 3

            @task
            def load(rows):
                structlog.get_logger().warning("about to fail", rows=rows)
                raise ValueError("cannot load")

            load(extract())

        def test_run(run_dag):
            result = run_dag(dag)
            assert {passes!r} or result.state == "success"
        """
    )
    result = pytester.runpytest_subprocess("-p", "pytest_xcom", "-p", "no:randomly", timeout=300)
    if passes:
        result.assert_outcomes(passed=1)
        assert "about to fail" not in result.stdout.str()
        return
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- pytest_xcom -*",
            "run_dag reported (*): failed",
            "  task states: extract success, load failed",
            "  load (try 1) failed: ValueError: cannot load",
            "    [warning] about to fail rows=3",
        ]
    )
    assert "fetched rows" not in result.stdout.str()  # the task that succeeded: states only
