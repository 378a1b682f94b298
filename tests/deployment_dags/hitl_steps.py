"""Human-in-the-loop steps (Airflow 3.1+): an approval, a branch and a form with params, each answered
through Airflow's own API in dag.test() and through hitl_responses in run_dag, then compared; a rejection;
an approval nobody answers, which takes its default at its timeout; and a response outside the options."""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLBranchOperator, HITLOperator
from airflow.sdk import DAG, Param, task

with DAG("hitl_steps", schedule=None) as dag:

    @task
    def build() -> str:
        return "v1"

    approve = ApprovalOperator(task_id="approve", subject="Ship {{ ti.xcom_pull(task_ids='build') }}?")

    pick = HITLBranchOperator(task_id="pick", subject="Where to?", options=["staging", "production"])

    form = HITLOperator(
        task_id="form",
        subject="How many replicas?",
        options=["OK", "Cancel"],
        params={"replicas": Param(1, type="integer"), "note": Param("none", type="string")},
    )

    @task
    def staging() -> str:
        return "to staging"

    @task
    def production() -> str:
        return "to production"

    @task
    def replicas(answer: dict) -> int:
        return answer["params_input"]["replicas"] * 2

    build() >> approve >> pick >> [staging(), production()]
    replicas(form.output)

with DAG("hitl_rejected", schedule=None) as rejected:

    @task
    def ship() -> str:
        return "shipped"

    ApprovalOperator(task_id="approve", subject="Ship?") >> ship()

with DAG("hitl_timeout", schedule=None) as timeout:

    @task
    def after() -> str:
        return "after the default"

    (
        ApprovalOperator(
            task_id="approve", subject="Ship?", response_timeout=timedelta(seconds=1), defaults="Approve"
        )
        >> after()
    )

with DAG("hitl_invalid", schedule=None) as invalid:
    HITLOperator(task_id="ask", subject="a or b?", options=["a", "b"])
