"""Asset events: what tasks emit is recorded, earlier events reach inlet_events, conditions schedule."""

from __future__ import annotations

import pytest
from airflow.sdk import DAG, Asset, AssetAlias, task

import pytest_xcom
from pytest_xcom import AssetEventRecord, _compat

ORDERS = Asset(name="orders", uri="s3://lake/orders")
CUSTOMERS = Asset(name="customers", uri="s3://lake/customers")
REPORT = Asset(name="report", uri="s3://lake/report")


def _producer(dag_id: str = "producer", outlets: list | None = None, extra: dict | None = None) -> DAG:
    with DAG(dag_id, schedule=None) as dag:

        @task(outlets=outlets if outlets is not None else [ORDERS])
        def write(*, outlet_events=None):
            if extra is not None:
                outlet_events[ORDERS].extra = extra
            return "written"

        write()
    return dag


def test_outlet_asset_events_are_recorded_with_their_extra_and_source(run_dag):
    result = run_dag(_producer(extra={"rows": 3}))
    assert result.asset_events == [
        AssetEventRecord(
            uri="s3://lake/orders",
            name="orders",
            extra={"rows": 3},
            task_id="write",
            map_index=-1,
            dag_id="producer",
            run_id=result.run_id,
        )
    ]
    assert result["write"].asset_events == result.asset_events
    assert result.asset_events[0].timestamp is not None


def test_an_outlet_without_an_extra_records_an_empty_one_in_outlet_order(run_dag):
    result = run_dag(_producer(outlets=[CUSTOMERS, ORDERS]))
    assert [(e.name, e.extra) for e in result.asset_events] == [("customers", {}), ("orders", {})]


def test_events_through_an_alias_name_the_alias_and_are_deduplicated(run_dag):
    alias = AssetAlias("daily")
    with DAG("aliased", schedule=None) as dag:

        @task(outlets=[alias])
        def write(*, outlet_events=None):
            outlet_events[alias].add(Asset("s3://lake/2024-01-01"), extra={"day": 1})
            outlet_events[alias].add(Asset("s3://lake/2024-01-01"), extra={"day": 1})
            outlet_events[alias].add(Asset("s3://lake/2024-01-02"), extra={"day": 2})

        write()
    result = run_dag(dag)
    assert [(e.uri, e.extra, e.source_aliases) for e in result.asset_events] == [
        ("s3://lake/2024-01-01", {"day": 1}, ("daily",)),
        ("s3://lake/2024-01-02", {"day": 2}, ("daily",)),
    ]


def test_an_outlet_event_for_an_asset_not_in_outlets_is_not_registered(run_dag):
    with DAG("undeclared", schedule=None) as dag:

        @task(outlets=[ORDERS])
        def write(*, outlet_events=None):
            outlet_events[CUSTOMERS].extra = {"ignored": True}

        write()
    assert [e.name for e in run_dag(dag).asset_events] == ["orders"]


def test_a_failed_task_emits_nothing(run_dag):
    with DAG("fails", schedule=None) as dag:

        @task(outlets=[ORDERS])
        def write():
            raise ValueError("no")

        write()
    result = run_dag(dag)
    assert result.state == "failed"
    assert result.asset_events == []


def test_mapped_instances_record_their_map_index(run_dag):
    with DAG("mapped", schedule=None) as dag:

        @task(outlets=[ORDERS])
        def write(n, *, outlet_events=None):
            outlet_events[ORDERS].extra = {"n": n}

        write.expand(n=[1, 2])
    result = run_dag(dag)
    assert sorted((e.map_index, e.extra["n"]) for e in result.asset_events) == [(0, 1), (1, 2)]


def test_given_events_reach_inlet_events_of_run_task(run_task):
    with DAG("reader", schedule=None):

        @task(inlets=[ORDERS])
        def read(*, inlet_events=None):
            return [e.extra for e in inlet_events[ORDERS]]

        op = read()
    # Keyed by the asset itself where it is hashable (3.2+), else given as pairs.
    given = [(ORDERS, [{"rows": 1}, {"rows": 2}])]
    result = run_task(op, asset_events=given if _compat.AIRFLOW_MINOR < (3, 2) else dict(given))
    assert result.return_value == [{"rows": 1}, {"rows": 2}]


def test_given_events_keyed_by_uri_and_records_keep_their_source(run_task):
    with DAG("reader_uri", schedule=None):

        @task(inlets=[ORDERS])
        def read(*, inlet_events=None):
            event = inlet_events[ORDERS][-1]
            return [event.extra, event.source_dag_id, event.source_task_id]

        op = read()
    record = AssetEventRecord(
        uri="s3://lake/orders", name="orders", extra={"rows": 9}, task_id="t", map_index=-1, dag_id="d"
    )
    result = run_task(op, asset_events={"s3://lake/orders": [{"rows": 1}, record]})
    assert result.return_value == [{"rows": 9}, "d", "t"]


def test_asset_events_refuse_keys_that_are_not_assets(run_task):
    with DAG("bad_key", schedule=None):
        op = task(lambda: None, task_id="t")()
    with pytest.raises(TypeError, match="keyed by an Asset or an asset URI"):
        run_task(op, asset_events={1: [{}]})
    with pytest.raises(TypeError, match="each event is its extra"):
        run_task(op, asset_events={ORDERS.uri: ["rows"]})


def test_an_asset_scheduled_dag_sees_given_events_as_its_triggering_events(run_dag):
    with DAG("consumer", schedule=[ORDERS]) as dag:

        @task
        def read(*, triggering_asset_events=None, dag_run=None):
            return [dag_run.run_type, [e.extra for e in triggering_asset_events[ORDERS]]]

        read()
    result = run_dag(dag, asset_events={"s3://lake/orders": [{"rows": 5}]})
    assert result["read"].return_value == ["asset_triggered", [{"rows": 5}]]


def test_asset_lookups_answer_from_the_known_assets(run_task):
    from airflow.sdk.execution_time.comms import GetAssetByName, GetAssetByUri

    with DAG("lookups", schedule=None):

        @task(inlets=[ORDERS])
        def look():
            from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS

            found = SUPERVISOR_COMMS.send(GetAssetByName(name="orders"))
            missing = SUPERVISOR_COMMS.send(GetAssetByUri(uri="s3://nowhere"))
            return [found.uri, missing.error.name]

        op = look()
    assert run_task(op).return_value == ["s3://lake/orders", "ASSET_NOT_FOUND"]


def test_run_dag_outside_pytest_records_asset_events():
    result = pytest_xcom.run_dag(_producer(dag_id="standalone"))
    assert [e.uri for e in result.asset_events] == ["s3://lake/orders"]


def test_the_asset_state_store_keeps_values_per_asset(run_task):
    from airflow.sdk.execution_time import comms

    if not hasattr(comms, "GetAssetStateStoreByName"):
        pytest.skip("this Airflow has no asset state store")

    with DAG("asset_state", schedule=None):

        @task(outlets=[ORDERS])
        def use():
            from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS as c

            c.send(comms.SetAssetStateStoreByName(name="orders", key="cursor", value={"at": 3}))
            by_uri = c.send(comms.GetAssetStateStoreByUri(uri="s3://lake/orders", key="cursor"))
            c.send(comms.DeleteAssetStateStoreByName(name="orders", key="cursor"))
            gone = c.send(comms.GetAssetStateStoreByName(name="orders", key="cursor"))
            return [by_uri.value, gone.error.name]

        op = use()
    assert run_task(op).return_value == [{"at": 3}, "ASSET_STORE_NOT_FOUND"]


def test_an_inlet_event_names_the_run_that_emitted_it(run_dag):
    with DAG("emitting", schedule=None) as dag:
        emit = task(lambda: None, task_id="emit", outlets=[ORDERS])()

        @task(inlets=[ORDERS])
        def read(*, inlet_events=None):
            event = inlet_events[ORDERS][-1]
            return [event.source_dag_id, event.source_run_id, event.source_task_id]

        emit >> read()
    result = run_dag(dag)
    assert result["read"].return_value == ["emitting", result.run_id, "emit"]
