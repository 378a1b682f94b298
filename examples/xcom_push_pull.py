"""The classic XCom tutorial: one task pushes a value, the next task pulls it.

Two ways to write it in Airflow 3: PythonOperators that call ``ti.xcom_push`` / ``ti.xcom_pull``
explicitly, and TaskFlow, where a task's return value is its XCom and passing it to another task pulls it.
"""

from __future__ import annotations

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, task

ORDER = {"order_id": 1001, "items": ("apple", "pear"), "total": 12.5}


# -- PythonOperator style: explicit keys -----------------------------------------------------------


def push_order(ti, **context):
    """Push the order under the key ``order``."""
    ti.xcom_push(key="order", value=ORDER)


def pull_order(ti, **context):
    """Pull the order ``push_order`` pushed and describe it (the return value is pushed as well)."""
    order = ti.xcom_pull(task_ids="push_order", key="order")
    return f"order {order['order_id']}: {len(order['items'])} items, {order['total']:.2f} EUR"


with DAG(dag_id="xcom_push_pull", schedule=None, tags=["example"]) as dag:
    push = PythonOperator(task_id="push_order", python_callable=push_order)
    pull = PythonOperator(task_id="pull_order", python_callable=pull_order)
    push >> pull


# -- TaskFlow style: return values -----------------------------------------------------------------


@task
def extract() -> dict[str, float]:
    """Order totals by order id; the return value is pushed as the XCom ``return_value``."""
    return {"1001": 301.27, "1002": 433.21, "1003": 502.22}


@task(multiple_outputs=True)
def transform(order_data: dict[str, float]) -> dict[str, float]:
    """With multiple_outputs, each key of the returned dict is also pushed as its own XCom."""
    return {"total_order_value": round(sum(order_data.values()), 2)}


@task
def load(total_order_value: float) -> str:
    return f"Total order value is: {total_order_value:.2f}"


with DAG(dag_id="xcom_taskflow", schedule=None, tags=["example"]) as taskflow_dag:
    load(transform(extract())["total_order_value"])
