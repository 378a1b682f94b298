"""A human approval step before shipping (Airflow 3.1+). See test_approval.py."""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG, task

with DAG("release", schedule=None, tags=["example"]) as release:

    @task
    def build() -> str:
        return "v1.2.3"

    approve = ApprovalOperator(
        task_id="approve_release",
        subject="Release {{ ti.xcom_pull(task_ids='build') }}?",
        response_timeout=timedelta(hours=4),
        defaults="Reject",  # nobody answered within 4 hours: do not ship
    )

    @task
    def ship(version: str) -> str:
        return f"shipped {version}"

    version = build()
    version >> approve >> ship(version)
