"""A classic DAG with templated fields: a SQL file found through template_searchpath, a macro, a filter."""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Param

with DAG(
    "sales_report",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["sales"],
    description="Renders the report query and announces it.",
    default_args={"owner": "data-eng", "retries": 1},
    template_searchpath=[str(Path(__file__).parent / "sql")],
    user_defined_macros={"warehouse": "analytics"},
    user_defined_filters={"quoted": lambda s: f"'{s}'"},
    params={"region": Param("eu", enum=["eu", "us", "apac"])},
):
    count_rows = PythonOperator(
        task_id="count_rows",
        python_callable=lambda: 42,
    )
    build_query = PythonOperator(
        task_id="build_query",
        python_callable=lambda templates_dict: templates_dict["query"],
        templates_dict={"query": "report.sql"},
        templates_exts=[".sql"],
    )
    announce = BashOperator(
        task_id="announce",
        bash_command=(
            "echo '{{ ti.xcom_pull(task_ids=\"count_rows\") }} rows for {{ params.region }} on {{ ds }}'"
        ),
    )
    count_rows >> build_query >> announce
