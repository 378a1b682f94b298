"""The "task instance context" tutorial: a callable reads the run's dates, ids and its task instance.

In Airflow 3 the context is passed to the callable: PythonOperator hands it to ``**context`` (or to
parameters named like its keys: ``ti``, ``ds``, ``dag_run``, ...), and ``get_current_context()``
returns it from anywhere inside a running task.
"""

from __future__ import annotations

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, get_current_context, task


def describe_run(ti, ds, logical_date, dag_run, run_id, **context):
    """Summarise the run this task instance belongs to, and push the summary for downstream tasks."""
    summary = {
        "task_id": ti.task_id,
        "try_number": ti.try_number,
        "ds": ds,
        "logical_date": logical_date,
        "run_id": run_id,
        "run_type": dag_run.run_type,
        "ts_nodash": context["ts_nodash"],
    }
    ti.xcom_push(key="run_summary", value=summary)
    return summary


def describe_run_classic(ti, **kwargs):
    """Classic (broken in Airflow 3): a task instance does not carry the context any more."""
    return {"ds": ti.context["ds"], "run_id": ti.context["run_id"]}


@task
def partition_path() -> str:
    """TaskFlow: no context parameter at all, the running task's context comes from get_current_context()."""
    context = get_current_context()
    return f"s3://warehouse/orders/ds={context['ds']}/{context['ti'].task_id}.parquet"


with DAG(dag_id="task_instance_context", schedule=None, tags=["example"]) as dag:
    describe = PythonOperator(task_id="describe_run", python_callable=describe_run)
    describe >> partition_path()


def build_classic_dag() -> DAG:
    """Classic (broken since Airflow 2): ``provide_context=True`` was how a callable got the context.

    PythonOperator no longer accepts it, so building this DAG raises TypeError. Drop the argument: the
    context reaches ``**kwargs`` without it.
    """
    with DAG(dag_id="task_instance_context_classic", schedule=None) as classic:
        PythonOperator(task_id="describe_run", python_callable=describe_run, provide_context=True)
    return classic
