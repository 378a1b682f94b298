"""A DAG whose tasks emit asset events (outlets, extras, an alias, mapped instances) and trigger a run
of another DAG with conf: what dag.test() records of it is compared with run_dag."""

from __future__ import annotations

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, Asset, AssetAlias, task

ORDERS = Asset(name="orders", uri="s3://lake/orders")
CUSTOMERS = Asset(name="customers", uri="s3://lake/customers")
DAILY = AssetAlias("daily")

with DAG("emit_and_trigger", schedule=None) as dag:

    @task(outlets=[ORDERS, CUSTOMERS])
    def write(*, outlet_events=None):
        outlet_events[ORDERS].extra = {"rows": 3, "nested": {"ok": True}}
        return "written"

    @task(outlets=[DAILY])
    def partition(*, outlet_events=None):
        outlet_events[DAILY].add(Asset(name="day1", uri="s3://lake/day1"), extra={"day": 1})

    @task(outlets=[ORDERS])
    def per_shard(shard, *, outlet_events=None):
        outlet_events[ORDERS].extra = {"shard": shard}

    @task(outlets=[CUSTOMERS])
    def fails():
        raise ValueError("no event from a failed task")

    trigger = TriggerDagRunOperator(task_id="trigger", trigger_dag_id="target", conf={"region": "eu"})
    write() >> partition() >> per_shard.expand(shard=[0, 1]) >> trigger
    fails()


with DAG("target", schedule=None) as target:
    task(lambda: None, task_id="noop")()
