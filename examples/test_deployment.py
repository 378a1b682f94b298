"""Testing DAGs together: asset events, the DAGs they schedule, and triggered runs with conf."""

from __future__ import annotations

from deployment import consumer, controller, producer, report


def test_the_producer_emits_the_orders_asset(run_dag):
    result = run_dag(producer)

    [event] = result.asset_events
    assert (event.uri, event.extra, event.task_id) == (
        "s3://warehouse/orders.parquet",
        {"rows": 42},
        "export_orders",
    )


def test_the_consumer_runs_on_the_producers_event(run_dag):
    # dags=[...] follows what the run leaves behind: here the consumer, scheduled on the asset.
    result = run_dag(producer, dags=[consumer])

    [run] = result.triggered_runs
    assert run.dag_id == "orders_consumer"
    assert run.result["count_new_rows"].return_value == 42


def test_the_consumer_alone_with_earlier_events(run_dag):
    result = run_dag(consumer, asset_events={"s3://warehouse/orders.parquet": [{"rows": 1}, {"rows": 2}]})

    assert result["count_new_rows"].return_value == 3


def test_the_controller_triggers_the_report_with_its_conf_and_waits(run_dag):
    result = run_dag(controller, dags=[report])

    assert result.state == "success"
    [run] = result.triggered_runs
    assert (run.dag_id, run.conf, run.triggered_by) == ("report", {"region": "us"}, "trigger_report")
    assert run.result["build_report"].return_value == "report for us"


def test_without_the_report_dag_the_wait_fails_saying_to_pass_it(run_dag):
    result = run_dag(controller)

    assert result.state == "failed"
    assert "dags=[report_dag]" in str(result["trigger_report"].error)
