"""DAGs that feed each other: a producer emitting an asset, a consumer scheduled on it, and a controller
triggering a report DAG with conf and waiting for it. See test_deployment.py."""

from __future__ import annotations

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, Asset, task

ORDERS = Asset(name="orders", uri="s3://warehouse/orders.parquet")

with DAG("orders_producer", schedule=None, tags=["example"]) as producer:

    @task(outlets=[ORDERS])
    def export_orders(*, outlet_events=None) -> int:
        rows = 42
        # What the consumer reads as the event's extra.
        outlet_events[ORDERS].extra = {"rows": rows}
        return rows

    export_orders()


with DAG("orders_consumer", schedule=[ORDERS], tags=["example"]) as consumer:

    @task
    def count_new_rows(*, triggering_asset_events=None) -> int:
        return sum(event.extra["rows"] for event in triggering_asset_events[ORDERS])

    count_new_rows()


with DAG("report", schedule=None, params={"region": "eu"}, tags=["example"]) as report:

    @task
    def build_report(*, params=None) -> str:
        return f"report for {params['region']}"

    build_report()


with DAG("controller", schedule=None, tags=["example"]) as controller:
    TriggerDagRunOperator(
        task_id="trigger_report",
        trigger_dag_id="report",
        conf={"region": "us"},
        wait_for_completion=True,
        poke_interval=60,
    )
