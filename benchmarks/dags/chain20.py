"""Twenty tasks in a chain, each adding one to what the previous one returned."""

from __future__ import annotations

from airflow.sdk import DAG, task

with DAG("bench_chain20", schedule=None) as dag:

    @task
    def step(previous: int | None = None) -> int:
        return (previous or 0) + 1

    value = step.override(task_id="step_00")()
    for i in range(1, 20):
        value = step.override(task_id=f"step_{i:02d}")(value)
