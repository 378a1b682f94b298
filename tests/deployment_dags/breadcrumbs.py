"""A task that reads its run's breadcrumbs (Airflow 3.2+): the finished task instances, as Sentry lists
them, with a success, a skip, a failure, an upstream failure and mapped instances before it."""

from __future__ import annotations

from airflow.sdk import DAG, task
from airflow.sdk.exceptions import AirflowSkipException

with DAG("breadcrumbs", schedule=None) as dag:

    @task
    def ok() -> int:
        return 1

    @task
    def skip() -> None:
        raise AirflowSkipException("not today")

    @task
    def fail() -> None:
        raise ValueError("broken")

    @task
    def after_failure() -> None:
        pass

    @task
    def shard(n: int) -> int:
        return n

    @task(trigger_rule="all_done")
    def crumbs(*, ti=None, run_id=None) -> list:
        # The duration is the wall clock's: only whether there is one is compared.
        return [
            [b["task_id"], b["map_index"], b["state"], b["operator"], b["duration"] is not None]
            for b in ti.get_task_breadcrumbs(dag_id="breadcrumbs", run_id=run_id)
        ]

    failed = fail()
    failed >> after_failure()
    [ok(), skip(), failed, shard.expand(n=[1, 2])] >> crumbs()
