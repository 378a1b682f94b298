"""Two tasks: one pushes a value, the next pulls it (the benchmark's small DAG)."""

from __future__ import annotations

from airflow.sdk import DAG, task

with DAG("bench_push_pull", schedule=None) as dag:

    @task
    def push() -> dict:
        return {"rows": [1, 2, 3], "source": "orders"}

    @task
    def pull(batch: dict) -> int:
        return sum(batch["rows"])

    pull(push())
