"""Params in the task context: DAG and task params, the run's conf, and Airflow's validation."""

from __future__ import annotations

import pytest
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Param

from pytest_xcom._compat import ParamValidationError


@pytest.fixture
def dag():
    with DAG(
        "params_dag",
        schedule=None,
        params={
            "region": Param("eu", type="string", enum=["eu", "us"]),
            "limit": Param(10, type="integer", minimum=1),
            "label": "untyped default",
        },
    ) as dag:
        PythonOperator(task_id="plain", python_callable=print)
        PythonOperator(
            task_id="own_params",
            python_callable=print,
            params={"limit": Param(500, type="integer", maximum=1000), "fmt": Param("csv", type="string")},
        )
    return dag


def test_dag_params_reach_the_context_as_plain_values(task_context, dag):
    params = task_context("plain", dag=dag)["params"]

    assert dict(params) == {"region": "eu", "limit": 10, "label": "untyped default"}


def test_task_params_add_to_and_override_dag_params(task_context, dag):
    params = task_context("own_params", dag=dag)["params"]

    assert dict(params) == {"region": "eu", "limit": 500, "label": "untyped default", "fmt": "csv"}


def test_conf_overrides_params_and_may_add_keys(task_context, dag):
    ctx = task_context("own_params", dag=dag, conf={"limit": 7, "region": "us", "extra": [1]})

    assert dict(ctx["params"]) == {
        "region": "us",
        "limit": 7,
        "label": "untyped default",
        "fmt": "csv",
        "extra": [1],
    }
    assert ctx["dag_run"].conf == {"limit": 7, "region": "us", "extra": [1]}


def test_conf_is_validated_against_the_task_params_schema(task_context, dag):
    # The task's own Param (maximum 1000, no minimum) replaces the DAG's for "limit".
    assert task_context("own_params", dag=dag, conf={"limit": 0}, run_id="r1")["params"]["limit"] == 0
    with pytest.raises(
        ParamValidationError, match=r"Invalid input for param limit: 1001 is greater than the maximum"
    ):
        task_context("own_params", dag=dag, conf={"limit": 1001}, run_id="r2")


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"limit": 0}, r"Invalid input for param limit: 0 is less than the minimum of 1"),
        ({"limit": "ten"}, r"Invalid input for param limit: 'ten' is not of type 'integer'"),
        ({"region": "mars"}, r"Invalid input for param region: 'mars' is not one of \['eu', 'us'\]"),
    ],
)
def test_an_invalid_conf_raises_param_validation_error_naming_the_param(task_context, dag, conf, message):
    with pytest.raises(ParamValidationError, match=message):
        task_context("plain", dag=dag, conf=conf)


def test_conf_can_be_kept_from_overriding_params(task_context, dag, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__DAG_RUN_CONF_OVERRIDES_PARAMS", "False")

    ctx = task_context("plain", dag=dag, conf={"limit": 0})

    assert ctx["params"]["limit"] == 10
    assert ctx["dag_run"].conf == {"limit": 0}


def test_one_runs_conf_does_not_become_a_later_runs_default(task_context, dag):
    # Airflow writes the validated conf into the Param objects; a worker's DAG is its own copy, a test's
    # DAG is shared by every test that imports it.
    task_context("own_params", dag=dag, conf={"limit": 99, "region": "us"}, run_id="with_conf")

    params = task_context("own_params", dag=dag, run_id="without_conf")["params"]

    assert (params["limit"], params["region"]) == (500, "eu")
    assert (dag.params["limit"], dag.task_dict["own_params"].params["limit"]) == (10, 500)


def test_standin_task_params(task_context):
    ctx = task_context("t", params={"n": Param(3, type="integer"), "name": "x"}, conf={"n": 4})

    assert dict(ctx["params"]) == {"n": 4, "name": "x"}
    assert ctx["task"].params["n"] == 3  # the declared default is untouched by the run's conf


@pytest.mark.parametrize(
    ("param", "message"),
    [
        (Param("three", type="integer"), r"Invalid input for param n: 'three' is not of type 'integer'"),
        (Param(type="string"), r"Invalid input for param n: No value passed and Param has no default value"),
    ],
)
def test_an_invalid_default_is_refused_when_the_context_is_built(task_context, param, message):
    with pytest.raises(ParamValidationError, match=message):
        task_context("t", params={"n": param})


def test_a_required_param_can_come_from_conf(task_context):
    ctx = task_context("t", params={"n": Param(type="string")}, conf={"n": "given"})

    assert ctx["params"]["n"] == "given"


def test_params_cannot_be_given_for_a_real_task(task_context, dag):
    with pytest.raises(TypeError, match=r"Declare the params on the task or DAG, and pass conf="):
        task_context("plain", dag=dag, params={"limit": 3})
