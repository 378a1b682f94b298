"""The standard provider's operators that run their callable in a second Python process.

One DAG per kind of child: an external interpreter (``ExternalPythonOperator``,
``@task.external_python``, ``BranchExternalPythonOperator``) and a virtualenv built for the task
(``PythonVirtualenvOperator``, ``@task.virtualenv``, ``BranchPythonVirtualenvOperator``). Each passes
upstream XComs to the child (rendered templates and XComArgs), takes its return value back, branches on
it, fails in the child and skips on an exit code.

The children send no request of their own to the supervisor: dag.test() answers those on its in-process
channel instead of the child's socket, and the child then waits for ever (Airflow 3.1 to 3.3).

The virtualenvs install nothing (no network): they see the system site-packages and, through
PYTHONPATH, this interpreter's, so Airflow's task SDK is importable in the child as it is on a worker
image. They are cached across runs under the temp directory (``venv_cache_path``, built under a lock).
"""

from __future__ import annotations

import getpass
import sys
import sysconfig
import tempfile
from datetime import datetime
from pathlib import Path

from airflow.providers.standard.operators.python import (
    BranchExternalPythonOperator,
    BranchPythonVirtualenvOperator,
    ExternalPythonOperator,
    PythonVirtualenvOperator,
)
from airflow.sdk import DAG, task

VENV = {
    "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
    "system_site_packages": True,
    "venv_cache_path": Path(tempfile.gettempdir()) / f"pytest_xcom-test-venvs-{getpass.getuser()}",
    "env_vars": {"PYTHONPATH": sysconfig.get_paths()["purelib"]},
}


# The child gets only a callable's source: what it uses is imported inside.
def describe(numbers, ds):
    return {"rendered": numbers, "ds": ds}


def choose(total):
    return "left" if total > 5 else "right"


def exit_with_99():
    import sys

    sys.exit(99)


# Airflow strips a `@task.<kind>` decorator from the source it sends: each kind is spelled out.
def external_decorated():
    @task.external_python(python=sys.executable, multiple_outputs=True)
    def totals(upstream):
        return {"total": sum(upstream["numbers"]), "count": len(upstream["numbers"])}

    @task.external_python(python=sys.executable)
    def explode():
        raise ValueError("the child failed")

    return totals, explode


def virtualenv_decorated():
    @task.virtualenv(multiple_outputs=True, **VENV)
    def totals(upstream):
        return {"total": sum(upstream["numbers"]), "count": len(upstream["numbers"])}

    @task.virtualenv(**VENV)
    def explode():
        raise ValueError("the child failed")

    return totals, explode


def build(dag_id, *, classic, branch, decorated):
    with DAG(dag_id, schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as dag:

        @task
        def seed():
            return {"numbers": [1, 2, 3]}

        described = classic(
            task_id="classic",
            python_callable=describe,
            op_kwargs={"numbers": "{{ ti.xcom_pull(task_ids='seed')['numbers'] }}"},
        )

        totals, explode = decorated()

        @task
        def left():
            return "left ran"

        @task
        def right():
            return "right ran"

        @task
        def after_explode():
            return "never"

        skipped = classic(task_id="skipped", python_callable=exit_with_99, skip_on_exit_code=99)

        @task
        def after_skipped():
            return "never"

        summed = totals(seed())
        seed_task = summed.operator.upstream_list[0]
        seed_task >> described
        chosen = branch(task_id="branch", python_callable=choose, op_kwargs={"total": summed["total"]})
        chosen >> [left(), right()]
        summed >> explode() >> after_explode()
        described >> skipped >> after_skipped()
    return dag


external = build(
    "children_external_python",
    classic=lambda **kw: ExternalPythonOperator(python=sys.executable, **kw),
    branch=lambda **kw: BranchExternalPythonOperator(python=sys.executable, **kw),
    decorated=external_decorated,
)
virtualenv = build(
    "children_virtualenv",
    classic=lambda **kw: PythonVirtualenvOperator(**VENV, **kw),
    branch=lambda **kw: BranchPythonVirtualenvOperator(**VENV, **kw),
    decorated=virtualenv_decorated,
)
