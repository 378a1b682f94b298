"""Testing the task-instance-context tutorial, including its classic (broken) forms."""

from __future__ import annotations

from pathlib import Path

import pytest
from freezegun import freeze_time
from task_instance_context import build_classic_dag, dag, describe_run, describe_run_classic, partition_path

EXAMPLES_DIR = Path(__file__).resolve().parent


def test_describe_run_reads_the_context(task_context, xcom_store):
    summary = describe_run(**task_context("describe_run", dag=dag, logical_date="2024-01-31T22:30:00Z"))

    assert summary["ds"] == "2024-01-31"
    assert summary["ts_nodash"] == "20240131T223000"
    assert summary["task_id"] == "describe_run"
    assert summary["try_number"] == 1
    assert summary["run_type"] == "manual"
    xcom_store.assert_pushed("describe_run", "run_summary", summary)


def test_dates_and_run_id_follow_the_frozen_clock(task_context):
    with freeze_time("2024-06-01 12:00:00"):
        summary = describe_run(**task_context("describe_run", dag=dag))

    assert summary["ds"] == "2024-06-01"
    assert summary["logical_date"].isoformat() == "2024-06-01T12:00:00+00:00"
    assert summary["run_id"] == "manual__2024-06-01T12:00:00+00:00"


def test_taskflow_task_gets_the_context_from_get_current_context(task_context):
    task_context("partition_path", dag=dag, logical_date="2024-02-29")

    assert partition_path.function() == "s3://warehouse/orders/ds=2024-02-29/partition_path.parquet"


def test_classic_ti_context_fails_with_the_fix_in_the_message(task_context):
    with pytest.raises(AttributeError, match=r"has no attribute 'context'.*\*\*context"):
        describe_run_classic(**task_context("describe_run", dag=dag))


def test_classic_provide_context_is_refused_when_the_dag_is_built():
    with pytest.raises(
        TypeError, match=r"Invalid arguments were passed to PythonOperator(.|\n)*provide_context"
    ):
        build_classic_dag()


def test_provide_context_failure_report_names_the_fix(pytester):
    # A test of the classic DAG fails; the failure report gets a pytest_xcom section with the fix.
    pytester.makeconftest(f"import sys\nsys.path.insert(0, {str(EXAMPLES_DIR)!r})")
    pytester.makepyfile(
        """
        from task_instance_context import build_classic_dag

        def test_classic_dag():
            build_classic_dag()
        """
    )

    # In a subprocess: a second in-process import of Airflow's modules in one interpreter would fail.
    result = pytester.runpytest_subprocess("-p", "pytest_xcom")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E * TypeError: Invalid arguments were passed to PythonOperator*",
            "*- pytest_xcom -*",
            "`provide_context=True` was removed in Airflow 2: operators no longer accept it.*",
        ]
    )
