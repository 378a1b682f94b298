"""Testing the params tutorial: defaults, conf overrides, validation, and the classic ti.params."""

from __future__ import annotations

import pytest

try:
    from airflow.sdk.exceptions import ParamValidationError
except ImportError:  # Airflow 3.0 and 3.1 keep it in airflow.exceptions
    from airflow.exceptions import ParamValidationError
from dag_params import build_query, build_query_classic, dag


def test_defaults_come_from_the_dag_and_task_params(task_context):
    result = build_query(**task_context("build_query", dag=dag))

    assert result == {
        "query": "SELECT * FROM sales WHERE region = 'eu' LIMIT 100",
        "dry_run": False,
        "format": "csv",
    }


def test_conf_of_a_triggered_run_overrides_params(task_context):
    ctx = task_context("build_query", dag=dag, conf={"region": "apac", "limit": 5, "format": "parquet"})

    result = build_query(**ctx)

    assert result["query"] == "SELECT * FROM sales WHERE region = 'apac' LIMIT 5"
    assert result["format"] == "parquet"
    assert ctx["dag_run"].conf == {"region": "apac", "limit": 5, "format": "parquet"}


@pytest.mark.parametrize(
    ("conf", "param"),
    [({"limit": 0}, "limit"), ({"region": "mars"}, "region"), ({"dry_run": "yes"}, "dry_run")],
)
def test_an_invalid_conf_is_refused_naming_the_param(task_context, conf, param):
    with pytest.raises(ParamValidationError, match=f"Invalid input for param {param}:"):
        task_context("build_query", dag=dag, conf=conf)


def test_classic_ti_params_fails_with_the_fix_in_the_message(task_context):
    with pytest.raises(AttributeError, match=r"has no attribute 'params'.*context\['params'\]"):
        build_query_classic(**task_context("build_query", dag=dag))
