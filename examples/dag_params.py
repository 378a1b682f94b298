"""The params tutorial: a DAG declares validated params, a triggered run's conf overrides them.

In Airflow 3 params reach the callable in the context (``params``); ``ti.params`` does not exist. Values
are validated against each ``Param``'s JSON schema when the task's context is built, so a bad conf
fails the task before the callable runs, with ParamValidationError naming the param.
"""

from __future__ import annotations

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Param


def build_query(params, **context):
    """Build the report query from the run's params."""
    query = f"SELECT * FROM sales WHERE region = '{params['region']}' LIMIT {params['limit']}"
    return {"query": query, "dry_run": params["dry_run"], "format": params["format"]}


def build_query_classic(ti, **kwargs):
    """Classic (broken in Airflow 3): params are not an attribute of the task instance."""
    return f"SELECT * FROM sales WHERE region = '{ti.params['region']}' LIMIT {ti.params['limit']}"


with DAG(
    dag_id="report_params",
    schedule=None,
    params={
        "region": Param("eu", type="string", enum=["eu", "us", "apac"]),
        "limit": Param(100, type="integer", minimum=1, maximum=10_000),
        "dry_run": Param(False, type="boolean"),
    },
    tags=["example"],
) as dag:
    PythonOperator(
        task_id="build_query",
        python_callable=build_query,
        # A task's own params add to (and override) the DAG's.
        params={"format": Param("csv", type="string", enum=["csv", "parquet"])},
    )
