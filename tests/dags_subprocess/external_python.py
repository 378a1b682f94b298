"""ExternalPythonOperator, @task.external_python and BranchExternalPythonOperator.

Each callable runs in a second Python process (this interpreter, so Airflow's task SDK is importable
there) that reads Variables and XComs and writes them back through the supervisor's socket.
"""

from __future__ import annotations

import sys
from datetime import datetime

from airflow.providers.standard.operators.python import BranchExternalPythonOperator, ExternalPythonOperator
from airflow.sdk import DAG, Variable, task

DAG_ID = "subprocess_external_python"


# The callables' source is all the child gets: they name the DAG and import inside.
def pull_and_push(numbers, run_id):
    from airflow.sdk import BaseXCom, Variable

    pulled = BaseXCom.get_one(
        key="return_value", dag_id="subprocess_external_python", task_id="seed", run_id=run_id
    )
    BaseXCom.set(
        "from_child",
        {"color": Variable.get("color")},
        dag_id="subprocess_external_python",
        task_id="classic",
        run_id=run_id,
    )
    Variable.set("written_by_child", "classic was here")
    return {"rendered": numbers, "pulled": pulled}


def choose():
    from airflow.sdk import Variable

    return "left" if Variable.get("color") == "red" else "right"


with DAG(DAG_ID, schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as dag:

    @task
    def seed():
        Variable.set("color", "red")
        return {"numbers": [1, 2, 3]}

    classic = ExternalPythonOperator(
        task_id="classic",
        python=sys.executable,
        python_callable=pull_and_push,
        op_kwargs={"numbers": "{{ ti.xcom_pull(task_ids='seed')['numbers'] }}"},
    )

    @task.external_python(python=sys.executable)
    def decorated(upstream, run_id=None):
        from airflow.sdk import BaseXCom, Variable

        from_child = BaseXCom.get_one(
            key="from_child", dag_id="subprocess_external_python", task_id="classic", run_id=run_id
        )
        return {"upstream": upstream, "from_child": from_child, "note": Variable.get("written_by_child")}

    branch = BranchExternalPythonOperator(task_id="branch", python=sys.executable, python_callable=choose)

    @task
    def left():
        return "left ran"

    @task
    def right():
        return "right ran"

    @task.external_python(python=sys.executable)
    def explode():
        raise ValueError("the child failed")

    @task
    def after_explode():
        return "never"

    @task(trigger_rule="all_done")
    def read_back():
        return Variable.get("written_by_child")

    seeded = seed()
    seeded >> classic
    done = decorated(classic.output)
    done >> branch >> [left(), right()]
    done >> explode() >> after_explode()
    done >> read_back()
