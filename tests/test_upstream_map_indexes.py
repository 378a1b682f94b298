"""Mapped task groups whose length comes from an upstream's XCom: before Airflow 3.2 the API server tells
each task which map indexes of its upstreams to pull (``upstream_map_indexes``), from 3.2 the task SDK
works them out; either way a task in the group pulls its own instance, one after it pulls them all."""

from __future__ import annotations

from airflow.sdk import DAG, task, task_group

from pytest_xcom import _compat


def _dag() -> DAG:
    with DAG("xcom_sized_group", schedule=None) as dag:

        @task
        def numbers():
            return [1, 2, 3]

        @task
        def plus_one(x):
            return x + 1

        @task
        def times_two(x):
            return x * 2

        @task_group
        def pipeline(x):
            return times_two(plus_one(x))

        @task
        def collect(values):
            return sorted(values)

        collect(pipeline.expand(x=numbers()))
    return dag


def test_a_group_sized_by_an_xcom_pairs_instances_and_collects_them_all(run_dag):
    result = run_dag(_dag())

    assert result.state == "success"
    assert [result.xcoms[("pipeline.times_two", i, "return_value")] for i in range(3)] == [4, 6, 8]
    assert result.xcoms[("collect", -1, "return_value")] == [4, 6, 8]


def test_the_server_sends_the_map_indexes_only_where_the_worker_does_not_work_them_out(run_dag):
    result = run_dag(_dag())

    def sent(task_id: str, map_index: int = -1):
        context = result.tasks[(task_id, map_index)].ti._ti_context_from_server
        return getattr(context, "upstream_map_indexes", None)

    if _compat.AIRFLOW_MINOR < (3, 2):
        # routes/task_instances.py, _get_upstream_map_indexes: the same instance inside the group, all
        # of them (the group's length, from the upstream's pushed list) outside it.
        assert sent("pipeline.times_two", 1) == {"pipeline.plus_one": 1}
        assert sent("collect") == {"pipeline.times_two": [0, 1, 2]}
        assert sent("pipeline.plus_one", 2) == {"numbers": None}
    else:
        assert sent("pipeline.times_two", 1) is None and sent("collect") is None


def test_a_task_after_the_group_run_alone_pulls_every_seeded_instance(run_task, xcom_store):
    dag = _dag()
    xcom_store.seed("numbers", [1, 2, 3])
    for map_index, value in enumerate([4, 6, 8]):
        xcom_store.seed("pipeline.times_two", value, map_index=map_index)

    result = run_task(dag.task_dict["collect"])

    assert (result.state, result.return_value) == ("success", [4, 6, 8]), result.error
