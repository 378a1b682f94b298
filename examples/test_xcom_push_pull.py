"""Testing the push/pull tutorial: each callable runs with Airflow's real context, against one store."""

from __future__ import annotations

import xcom_push_pull as example
from xcom_push_pull import ORDER, dag, pull_order, push_order, taskflow_dag


def test_push_order_pushes_the_order(task_context, xcom_store):
    push_order(**task_context("push_order", dag=dag))

    # What a downstream task receives: the tuple stays a tuple, because Airflow's serde keeps it.
    xcom_store.assert_pushed("push_order", "order", ORDER)
    xcom_store.assert_not_pushed("push_order")  # a PythonOperator pushes its return value only if not None


def test_pull_order_reads_what_upstream_pushed(task_context, xcom_store):
    xcom_store.seed("push_order", {"order_id": 7, "items": ["fig"], "total": 3}, key="order")

    summary = pull_order(**task_context("pull_order", dag=dag))

    assert summary == "order 7: 1 items, 3.00 EUR"


def test_push_then_pull_share_one_run(task_context, xcom_store):
    push_order(**task_context("push_order", dag=dag))

    summary = pull_order(**task_context("pull_order", dag=dag))

    assert summary == "order 1001: 2 items, 12.50 EUR"
    [record] = list(xcom_store)
    assert (record.dag_id, record.task_id, record.key) == ("xcom_push_pull", "push_order", "order")


def test_a_pull_of_a_key_nobody_pushed_is_explained(task_context, xcom_store):
    xcom_store.seed("push_order", ORDER, key="orders")
    ti = task_context("pull_order", dag=dag)["ti"]

    # Airflow returns None for a missing XCom; the store notes why, for the failure report.
    assert ti.xcom_pull(task_ids="push_order", key="order") is None
    assert xcom_store.misses == [
        "xcom_pull: no XCom 'order' from 'push_order'; it pushed: 'orders' (did you mean 'orders'?)"
    ]


# -- TaskFlow --------------------------------------------------------------------------------------


def test_extract_returns_order_totals():
    assert example.extract.function() == {"1001": 301.27, "1002": 433.21, "1003": 502.22}


def test_transform_receives_what_extract_returned(task_context, xcom_store):
    # The runner pushes a task's return value as "return_value"; seed it as if extract had run.
    xcom_store.seed("extract", example.extract.function())
    transform_task = taskflow_dag.task_dict["transform"]

    # Resolving the XComArg is how Airflow turns `transform(extract())` into a pull.
    [order_data] = [
        arg.resolve(task_context("transform", dag=taskflow_dag)) for arg in transform_task.op_args
    ]

    assert example.transform.function(order_data) == {"total_order_value": 1236.7}


def test_load_receives_one_output_of_transform(task_context, xcom_store):
    # multiple_outputs pushes each key of the returned dict as its own XCom.
    xcom_store.seed("transform", 1236.7, key="total_order_value")
    [arg] = taskflow_dag.task_dict["load"].op_args

    total = arg.resolve(task_context("load", dag=taskflow_dag))

    assert example.load.function(total) == "Total order value is: 1236.70"
