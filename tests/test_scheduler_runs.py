"""Which DAG run each call works in: seeded runs, repeated runs with one run_id, call-scoped inputs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Variable, task
from freezegun import freeze_time

import pytest_xcom


def test_a_seed_into_another_dags_run_is_visible_to_include_prior_dates(task_context, xcom_store):
    xcom_store.seed("producer", "theirs", dag_id="other")
    ti = task_context("consumer", logical_date="2024-01-02")["ti"]

    assert ti.xcom_pull(dag_id="other", task_ids="producer", include_prior_dates=True) == "theirs"


def test_a_seeded_earlier_run_keeps_its_own_date(task_context, xcom_store):
    xcom_store.seed("snapshot", "dec-31", run_id="manual__2023-12-31T00:00:00+00:00")
    xcom_store.seed("snapshot", "jan-5", run_id="later", logical_date=datetime(2024, 1, 5, tzinfo=UTC))
    ti = task_context("compare", logical_date="2024-01-02")["ti"]

    assert ti.xcom_pull(task_ids="snapshot") is None  # the test's own run has none
    assert ti.xcom_pull(task_ids="snapshot", include_prior_dates=True, map_indexes=-1) == "dec-31"


def test_a_seed_with_a_run_id_stays_in_that_run(task_context, xcom_store):
    xcom_store.seed("up", 1, run_id="earlier")
    ti = task_context("t")["ti"]

    assert ti.xcom_pull(task_ids="up") is None
    assert xcom_store.get("up", run_id="earlier") == 1


def test_a_context_at_another_date_must_say_it_wants_a_second_run(task_context):
    task_context("a", logical_date="2024-01-01")
    with pytest.raises(ValueError, match=r"a context dated 2024-01-02.*pass run_id="):
        task_context("b", logical_date="2024-01-02")
    second = task_context("b", logical_date="2024-01-02", run_id="second")
    assert second["run_id"] == "second"
    assert task_context("c")["logical_date"] == datetime(2024, 1, 1, tzinfo=UTC)


def test_run_task_asks_which_map_index_of_a_mapped_task(run_task):
    with DAG("mapped_one", schedule=None):

        @task
        def each(x):
            return x

        mapped = each.expand(x=[1, 2])
    with pytest.raises(ValueError, match="map_index=0"):
        run_task(mapped)
    assert run_task(mapped, map_index=1).state == "success"


def test_variables_given_to_one_run_dag_call_stay_in_that_call(run_dag, xcom_comms):
    xcom_comms.variables["kept"] = "from the fixture"
    with DAG("reads_variables", schedule=None) as dag:

        @task
        def read():
            return [Variable.get("given", default="missing"), Variable.get("kept")]

        read()
    first = run_dag(dag, variables={"given": "yes", "kept": "overridden"}, run_id="one")
    second = run_dag(dag, run_id="two")

    assert first.xcoms[("read", -1, "return_value")] == ["yes", "overridden"]
    assert second.xcoms[("read", -1, "return_value")] == ["missing", "from the fixture"]


def _branching_dag() -> DAG:
    with DAG("rerun", schedule=None) as dag:

        @task.branch
        def choose(params=None, dag_run=None):
            return dag_run.conf["side"]

        @task
        def left():
            return "left value"

        right = EmptyOperator(task_id="right")

        @task(trigger_rule="none_failed_min_one_success")
        def join(ti=None):
            return ti.xcom_pull(task_ids="left")

        choose() >> [left(), right] >> join()
    return dag


@pytest.mark.parametrize("same", ["run_id", "frozen_clock"])
def test_a_second_run_with_the_same_run_id_replaces_the_first(same):
    dag = _branching_dag()
    store = pytest_xcom.XComStore()
    with freeze_time("2024-03-01"):
        kwargs = {"run_id": "again"} if same == "run_id" else {}
        first = pytest_xcom.run_dag(dag, store=store, conf={"side": "left"}, **kwargs)
        second = pytest_xcom.run_dag(dag, store=store, conf={"side": "right"}, **kwargs)

    assert first.run_id == second.run_id
    assert second.task_states[("left", -1)] == "skipped"
    # The skipped branch's value from the first run is gone, as dag.test() deletes the earlier run.
    assert ("left", -1, "return_value") not in second.xcoms
    assert second.xcoms.get(("join", -1, "return_value")) is None
    # The first result keeps what its run pushed.
    assert first.xcoms[("left", -1, "return_value")] == "left value"
    assert first.xcoms[("join", -1, "return_value")] == "left value"


def test_a_seed_into_another_dag_after_the_first_context_shares_the_tests_run_date(task_context, xcom_store):
    ti = task_context("consumer", logical_date="2024-01-02")["ti"]
    xcom_store.seed("marker", "here", dag_id="other")  # other's run with the test's run_id
    later = datetime(2025, 6, 1, tzinfo=UTC)
    xcom_store.seed("producer", "later", dag_id="other", run_id="later_run", logical_date=later)

    assert ti.xcom_pull(dag_id="other", task_ids="marker", include_prior_dates=True, map_indexes=-1) == "here"
    # Dated 2024-01-02 like the test's run, other's run sees no run of 2025.
    assert ti.xcom_pull(dag_id="other", task_ids="producer", include_prior_dates=True, map_indexes=-1) is None
