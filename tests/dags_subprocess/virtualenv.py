"""PythonVirtualenvOperator, @task.virtualenv and BranchPythonVirtualenvOperator.

The virtualenvs install nothing (no network): they see the system site-packages and, through
PYTHONPATH, this interpreter's, so Airflow's task SDK is importable in the child. They are cached
across runs in the temp directory (``venv_cache_path``, created under a lock, as Airflow does).
"""

from __future__ import annotations

import getpass
import sys
import sysconfig
import tempfile
from datetime import datetime
from pathlib import Path

from airflow.providers.standard.operators.python import (
    BranchPythonVirtualenvOperator,
    PythonVirtualenvOperator,
)
from airflow.sdk import DAG, Variable, task

DAG_ID = "subprocess_virtualenv"
VENV = {
    "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
    "system_site_packages": True,
    "venv_cache_path": Path(tempfile.gettempdir()) / f"pytest_xcom-test-venvs-{getpass.getuser()}",
    "env_vars": {"PYTHONPATH": sysconfig.get_paths()["purelib"]},
}


# The callables' source is all the child gets: they name the DAG and import inside.
def pull_and_push(numbers, run_id):
    from airflow.sdk import BaseXCom, Variable

    pulled = BaseXCom.get_one(
        key="return_value", dag_id="subprocess_virtualenv", task_id="seed", run_id=run_id
    )
    BaseXCom.set(
        "from_child",
        {"color": Variable.get("color")},
        dag_id="subprocess_virtualenv",
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

    classic = PythonVirtualenvOperator(
        task_id="classic",
        python_callable=pull_and_push,
        op_kwargs={"numbers": "{{ ti.xcom_pull(task_ids='seed')['numbers'] }}"},
        **VENV,
    )

    @task.virtualenv(**VENV)
    def decorated(upstream, run_id=None):
        from airflow.sdk import BaseXCom, Variable

        from_child = BaseXCom.get_one(
            key="from_child", dag_id="subprocess_virtualenv", task_id="classic", run_id=run_id
        )
        return {"upstream": upstream, "from_child": from_child, "note": Variable.get("written_by_child")}

    branch = BranchPythonVirtualenvOperator(task_id="branch", python_callable=choose, **VENV)

    @task
    def left():
        return "left ran"

    @task
    def right():
        return "right ran"

    @task.virtualenv(**VENV)
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
