"""What do a task's templated fields render to? Airflow's own rendering, XComs from the test's store."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_xcom import load_dags

DAG = load_dags(Path(__file__).parent / "dags").dags["sales_report"]


def test_the_sql_file_renders_with_macro_filter_and_params(render_task):
    rendered = render_task(DAG.task_dict["build_query"], logical_date="2024-03-01")

    assert rendered["templates_dict"]["query"].splitlines() == [
        "SELECT region, SUM(amount) FROM analytics.sales",
        "WHERE region = 'eu' AND day = '2024-03-01'",
        "GROUP BY region",
    ]


def test_conf_overrides_the_param(render_task):
    rendered = render_task(DAG.task_dict["build_query"], logical_date="2024-03-01", conf={"region": "us"})

    assert "WHERE region = 'us'" in rendered["templates_dict"]["query"]


def test_an_xcom_pull_in_a_template_reads_the_store(render_task, xcom_store):
    xcom_store.seed("count_rows", 42)

    rendered = render_task(DAG.task_dict["announce"], logical_date="2024-03-01")

    assert rendered["bash_command"] == "echo '42 rows for eu on 2024-03-01'"


def test_a_param_outside_its_enum_is_refused(render_task):
    try:
        from airflow.sdk.exceptions import ParamValidationError
    except ImportError:  # Airflow 3.0 and 3.1 keep it in airflow.exceptions
        from airflow.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        render_task(DAG.task_dict["build_query"], params={"region": "mars"})
