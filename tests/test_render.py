"""render_task: template fields rendered as the task runner renders them before execute."""

from __future__ import annotations

import inspect
import textwrap
from datetime import UTC, datetime

import jinja2
import pytest
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, BaseOperator, Param, task
from airflow.sdk.execution_time import task_runner

import pytest_xcom
from pytest_xcom._dagtest import run_dag_test

LOGICAL_DATE = datetime(2024, 1, 2, tzinfo=UTC)


def test_dates_params_and_conf_render_as_airflow_renders_them(render_task):
    with DAG("render_basic", schedule=None, params={"who": Param("world", type="string")}):
        op = BashOperator(task_id="hello", bash_command="echo {{ ds }} {{ params.who }} {{ dag_run.conf.n }}")
    rendered = render_task(op, logical_date=LOGICAL_DATE, conf={"n": 7})
    assert rendered["bash_command"] == "echo 2024-01-02 world 7"
    assert rendered.shown["bash_command"] == rendered["bash_command"]
    # A second date is a second run of the DAG: it needs a run_id of its own.
    second = {"logical_date": "2024-01-03", "run_id": "second"}
    assert render_task(op, **second, params={"who": "you"}, conf={"n": 1})["bash_command"] == (
        "echo 2024-01-03 you 1"
    )


def test_params_are_validated_against_the_declared_param(render_task):
    from pytest_xcom._compat import ParamValidationError

    with DAG("render_param_check", schedule=None, params={"n": Param(1, type="integer")}):
        op = BashOperator(task_id="t", bash_command="echo {{ params.n }}")
    with pytest.raises(ParamValidationError):
        render_task(op, params={"n": "not a number"})


def test_xcom_pulls_and_taskflow_arguments_read_the_store(render_task, xcom_store):
    with DAG("render_xcom", schedule=None):

        @task
        def upstream():
            return {"rows": 3}

        @task
        def downstream(payload, label):
            return payload

        up = upstream()
        down = downstream(up, label="{{ ti.xcom_pull(task_ids='upstream')['rows'] }} rows")
        pulled = BashOperator(task_id="pulled", bash_command="echo {{ ti.xcom_pull(task_ids='upstream') }}")
        up >> pulled
    xcom_store.seed("upstream", {"rows": 3})
    rendered = render_task(down, logical_date=LOGICAL_DATE)
    assert list(rendered["op_args"]) == [{"rows": 3}]
    assert rendered["op_kwargs"] == {"label": "3 rows"}
    assert render_task(pulled, logical_date=LOGICAL_DATE)["bash_command"] == "echo {'rows': 3}"


def test_template_files_macros_filters_and_native_rendering(render_task, tmp_path):
    (tmp_path / "query.sql").write_text("SELECT * FROM {{ params.table | upper }} WHERE d = '{{ ds }}'")
    with DAG(
        "render_env",
        schedule=None,
        template_searchpath=[str(tmp_path)],
        user_defined_macros={"region": "eu"},
        user_defined_filters={"upper": str.upper},
        params={"table": "sales"},
    ):
        op = PythonOperator(
            task_id="t",
            python_callable=lambda **_: None,
            templates_dict={"query": "query.sql", "where": "{{ region }}"},
            templates_exts=[".sql"],
        )
    rendered = render_task(op, logical_date=LOGICAL_DATE)
    query = "SELECT * FROM SALES WHERE d = '2024-01-02'"
    assert rendered["templates_dict"] == {"query": query, "where": "eu"}

    with DAG("render_native", schedule=None, render_template_as_native_obj=True):
        native = PythonOperator(task_id="t", python_callable=print, op_args=["{{ [1, 2] + [3] }}"])
    assert render_task(native)["op_args"] == [[1, 2, 3]]


def test_the_dags_undefined_behaviour_applies(render_task):
    with DAG("render_lenient", schedule=None, template_undefined=jinja2.Undefined):
        lenient = BashOperator(task_id="t", bash_command="echo [{{ nothing_here }}]")
    assert render_task(lenient)["bash_command"] == "echo []"
    with DAG("render_strict", schedule=None):  # Airflow's default: StrictUndefined
        strict = BashOperator(task_id="t", bash_command="echo {{ nothing_here }}")
    with pytest.raises(jinja2.UndefinedError, match="nothing_here"):
        render_task(strict)


def test_mapped_task_renders_one_expanded_instance(render_task, xcom_store):
    with DAG("render_mapped", schedule=None):

        @task
        def files():
            return ["a.csv", "b.csv"]

        mapped = BashOperator.partial(task_id="load").expand(bash_command=files().map(lambda f: f"load {f}"))
    xcom_store.seed("files", ["a.csv", "b.csv"])
    assert render_task(mapped, map_index=1, logical_date=LOGICAL_DATE)["bash_command"] == "load b.csv"


def test_registered_secrets_are_masked_only_in_what_the_view_shows(render_task):
    with DAG("render_secret", schedule=None):
        op = BashOperator(task_id="t", bash_command="curl -u {{ conn.api.password }}")
    rendered = render_task(op, connections={"api": {"conn_type": "http", "password": "s3cret"}})
    assert rendered["bash_command"] == "curl -u s3cret"
    # Only a task that masks its fields itself (from 3.1) knows the password it read; 3.0's task sends them
    # unmasked, and the API server's masker knows sensitive field names only.
    masked_by_task = "redact(" in inspect.getsource(task_runner._serialize_rendered_fields)
    assert rendered.shown["bash_command"] == ("curl -u ***" if masked_by_task else "curl -u s3cret")


def test_a_sensitive_field_name_is_masked_in_what_the_view_shows(render_task):
    class ApiOperator(BaseOperator):
        template_fields = ("api_key", "path")

        def __init__(self, api_key: str, path: str, **kwargs):
            super().__init__(**kwargs)
            self.api_key = api_key
            self.path = path

    with DAG("render_sensitive_name", schedule=None):
        op = ApiOperator(task_id="t", api_key="{{ var.value.k }}", path="/{{ var.value.k }}")
    rendered = render_task(op, variables={"k": "abc"})
    assert rendered == {"api_key": "abc", "path": "/abc"}
    assert rendered.shown == {"api_key": "***", "path": "/abc"}


def test_render_task_outside_pytest_uses_its_own_store():
    with DAG("render_plain", schedule=None):
        op = BashOperator(task_id="t", bash_command="echo {{ ds_nodash }}")
    assert pytest_xcom.render_task(op, logical_date=LOGICAL_DATE)["bash_command"] == "echo 20240102"


DIFFERENTIAL_DAG = """
from airflow.sdk import DAG, BaseOperator, Param, task
from airflow.sdk.execution_time import task_runner
from airflow.providers.standard.operators.python import PythonOperator

def give_back(templates_dict=None, **kwargs):
    return {"templates_dict": templates_dict, "op_kwargs": kwargs.get("label")}

with DAG(
    "render_differential",
    schedule=None,
    template_searchpath=[__SEARCHPATH__],
    user_defined_macros={"region": "eu"},
    user_defined_filters={"shout": lambda s: s.upper() + "!"},
    params={"table": Param("sales", type="string")},
):
    @task
    def upstream():
        return {"rows": 3}

    @task
    def echo(payload, label):
        return {"payload": payload, "label": label}

    up = upstream()
    echoed = echo(up, label="{{ params.table | shout }} {{ ti.xcom_pull(task_ids='upstream')['rows'] }}")
    templated = PythonOperator(
        task_id="templated",
        python_callable=give_back,
        templates_dict={"query": "query.sql", "where": "{{ region }} {{ ds }}"},
        templates_exts=[".sql"],
        op_kwargs={"label": "{{ dag_run.conf.get('n', 0) }}"},
    )
    up >> templated
"""


@pytest.mark.slow
def test_rendered_values_are_what_the_task_receives_under_dag_test(tmp_path, xcom_store, render_task):
    """Each task returns what it was rendered with; dag.test() on a metadata DB gives the reference."""
    (tmp_path / "query.sql").write_text("SELECT * FROM {{ params.table }} WHERE d = '{{ ds }}'")
    dag_file = tmp_path / "render_differential.py"
    dag_file.write_text(textwrap.dedent(DIFFERENTIAL_DAG.replace("__SEARCHPATH__", repr(str(tmp_path)))))
    conf = {"n": 5}
    real = run_dag_test(dag_file, "render_differential", logical_date=LOGICAL_DATE, conf=conf)

    dag = pytest_xcom.load_dags(tmp_path).dags["render_differential"]
    xcom_store.seed("upstream", real.xcoms[("upstream", -1, "return_value")])
    echoed = render_task(dag.task_dict["echo"], logical_date=LOGICAL_DATE, conf=conf)
    received = real.xcoms[("echo", -1, "return_value")]
    assert {"payload": echoed["op_args"][0], **echoed["op_kwargs"]} == received
    templated = render_task(dag.task_dict["templated"], logical_date=LOGICAL_DATE, conf=conf)
    assert {
        "templates_dict": templated["templates_dict"],
        "op_kwargs": templated["op_kwargs"]["label"],
    } == real.xcoms[("templated", -1, "return_value")]


def test_run_results_carry_what_render_task_renders(render_task, run_task, xcom_store):
    with DAG("render_results", schedule=None):
        op = BashOperator(task_id="echo", bash_command="echo {{ ds }} {{ ti.xcom_pull(task_ids='up') }}")
        failing = BashOperator(task_id="fails", bash_command="exit {{ 3 }}")
    xcom_store.seed("up", "seeded")
    ran = run_task(op, logical_date=LOGICAL_DATE)
    assert (
        ran.rendered
        == render_task(op)
        == {"bash_command": "echo 2024-01-02 seeded", "env": None, "cwd": None}
    )
    assert ran.rendered.shown["bash_command"] == "echo 2024-01-02 seeded"

    dag_result = pytest_xcom.run_dag(failing.dag, logical_date=LOGICAL_DATE)
    assert dag_result["echo"].rendered["bash_command"] == "echo 2024-01-02 None"
    # A task that fails in execute was rendered first.
    assert (dag_result["fails"].state, dag_result["fails"].rendered["bash_command"]) == ("failed", "exit 3")
