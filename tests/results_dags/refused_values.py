"""Values a real worker refuses: which of them dag.test() lets through."""

from __future__ import annotations

from airflow.sdk import DAG, task


@task
def push_nan():
    return float("nan")


@task
def push_big_int():
    return 2**64


with DAG("push_nan", schedule=None) as push_nan_dag:
    push_nan()

with DAG("push_big_int", schedule=None) as push_big_int_dag:
    push_big_int()
