"""A TaskFlow DAG that follows the house rules the integrity example checks: tags, owner, retries."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["sales"],
    description="Daily sales totals per region.",
    default_args={"owner": "data-eng", "retries": 2},
)
def daily_sales():
    @task
    def extract() -> list[dict]:
        return [{"region": "eu", "amount": 10}, {"region": "us", "amount": 5}]

    @task
    def total(rows: list[dict]) -> int:
        return sum(row["amount"] for row in rows)

    total(extract())


daily_sales()
