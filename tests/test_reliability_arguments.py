"""Wrong arguments to run_task, run_dag and task_context fail at once, saying what was expected."""

from __future__ import annotations

import pytest
from airflow.sdk import DAG, task

import pytest_xcom


def _mapped_dag(dag_id: str) -> DAG:
    with DAG(dag_id, schedule=None) as dag:

        @task
        def numbers() -> list[int]:
            return [1, 2]

        @task
        def times_ten(x: int) -> int:
            return x * 10

        times_ten.expand(x=numbers())
    return dag


# -- map indexes the scheduler never creates ----------------------------------------------------------


def test_run_task_refuses_a_map_index_beyond_the_seeded_upstream(run_task, xcom_store):
    dag = _mapped_dag("mapped_out_of_range")
    xcom_store.seed("numbers", [1, 2])
    with pytest.raises(ValueError, match=r"valid map indexes are 0\.\.1.*map_index 5"):
        run_task(dag.get_task("times_ten"), map_index=5)


def test_run_task_runs_a_map_index_in_range(run_task, xcom_store):
    dag = _mapped_dag("mapped_in_range")
    xcom_store.seed("numbers", [1, 2])
    result = run_task(dag.get_task("times_ten"), map_index=1)
    assert result.state == "success", result.error
    assert result.return_value == 20


def test_run_task_refuses_any_map_index_of_an_empty_expansion(run_task, xcom_store):
    dag = _mapped_dag("mapped_empty")
    xcom_store.seed("numbers", [])
    with pytest.raises(ValueError, match="no instances"):
        run_task(dag.get_task("times_ten"), map_index=0)


def test_run_task_counts_literal_and_product_expansions():
    with DAG("mapped_literal", schedule=None) as dag:

        @task
        def pair(a: int, b: str) -> str:
            return f"{a}{b}"

        pair.expand(a=[1, 2, 3], b=["x", "y"])
    assert pytest_xcom.run_task(dag.get_task("pair"), map_index=5).return_value == "3y"
    with pytest.raises(ValueError, match=r"6 instance\(s\).*0\.\.5"):
        pytest_xcom.run_task(dag.get_task("pair"), map_index=6)


def test_run_task_counts_instances_of_a_mapped_upstream(run_task, xcom_store):
    with DAG("mapped_chain", schedule=None) as dag:

        @task
        def first(x: int) -> int:
            return x

        @task
        def second(y: int) -> int:
            return y + 1

        second.expand(y=first.expand(x=[1, 2, 3]))
    for map_index in range(3):
        xcom_store.seed("first", map_index, map_index=map_index)
    assert run_task(dag.get_task("second"), map_index=2).return_value == 3
    with pytest.raises(ValueError, match=r"0\.\.2"):
        run_task(dag.get_task("second"), map_index=3)


# -- wrong kinds of arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda dag: pytest_xcom.run_task("times_ten"), TypeError, r"takes a task.*dag\.get_task"),
        (lambda dag: pytest_xcom.run_task(dag), TypeError, "run the whole DAG with run_dag"),
        (lambda dag: pytest_xcom.run_task(dag.get_task("numbers"), map_index="0"), TypeError, "int"),
        (lambda dag: pytest_xcom.run_task(dag.get_task("numbers"), try_number=0), ValueError, "first try"),
        (lambda dag: pytest_xcom.run_dag("mapped_args"), TypeError, "not its dag_id"),
        (lambda dag: pytest_xcom.run_dag(dag.get_task("numbers")), TypeError, r"run_task\(task\)"),
        (lambda dag: pytest_xcom.run_dag(dag, logical_date=20240101), TypeError, "'2024-01-01'"),
        (lambda dag: pytest_xcom.run_dag(dag, logical_date="yesterday"), ValueError, "ISO-8601"),
        (lambda dag: pytest_xcom.run_dag(dag, conf=["a", 1]), TypeError, r"conf=.*takes a dict"),
        (lambda dag: pytest_xcom.run_dag(dag, conf={1: "a"}), TypeError, "keys must be strings"),
        (lambda dag: pytest_xcom.run_dag(dag, run_id=7), TypeError, "run_id"),
        (lambda dag: pytest_xcom.run_dag(dag, variables=[("a", 1)]), TypeError, "variables"),
    ],
    ids=[
        "run_task-str",
        "run_task-dag",
        "run_task-map_index-str",
        "run_task-try_number-0",
        "run_dag-str",
        "run_dag-operator",
        "run_dag-int-date",
        "run_dag-bad-date-string",
        "run_dag-list-conf",
        "run_dag-int-conf-keys",
        "run_dag-int-run_id",
        "run_dag-list-variables",
    ],
)
def test_wrong_arguments_say_what_was_expected(call, error, match):
    dag = _mapped_dag("mapped_args")
    with pytest.raises(error, match=match):
        call(dag)


def test_task_context_refuses_a_task_as_task_id_and_a_bad_date(task_context):
    dag = _mapped_dag("context_args")
    with pytest.raises(TypeError, match=r"task=\.\.\."):
        task_context(dag.get_task("numbers"))
    with pytest.raises(TypeError, match="takes a DAG"):
        task_context("numbers", dag="context_args")
    with pytest.raises(TypeError, match="datetime, a date or an ISO-8601"):
        task_context("numbers", dag=dag, logical_date=1.5)
