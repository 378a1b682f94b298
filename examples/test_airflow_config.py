"""Airflow config for one test: the marker for a whole test, the fixture for values set inside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk import DAG, task

from pytest_xcom import load_dags


@pytest.mark.airflow_config({"core.max_map_length": 2})
def test_a_mapped_upstream_longer_than_max_map_length_fails(run_dag):
    with DAG("too_wide", schedule=None) as dag:

        @task
        def items():
            return [1, 2, 3]

        @task
        def double(x):
            return 2 * x

        double.expand(x=items())

    result = run_dag(dag)

    assert result.task_states[("items", -1)] == "failed"


def test_safe_mode_off_parses_files_without_the_words_airflow_and_dag(airflow_config, tmp_path):
    (tmp_path / "helper.py").write_text("VALUE = 1\n")
    airflow_config["core.dag_discovery_safe_mode"] = False

    assert load_dags(tmp_path).files == ["helper.py"]


@pytest.mark.airflow_config({"core.dagbag_import_timeout": 0.5})
def test_a_file_slower_to_parse_than_the_timeout_is_an_import_error(tmp_path):
    (tmp_path / "slow_dag.py").write_text("import time\nfrom airflow.sdk import DAG\n\ntime.sleep(10)\n")

    [problem] = load_dags(tmp_path).file_problems("slow_dag.py")

    assert "dagbag_import_timeout" in problem.cause


def test_everything_is_back_afterwards():
    assert load_dags(Path(__file__).parent / "dags").files == ["daily_sales.py", "sales_report.py"]
