"""Asset events and triggered runs, as dag.test() records them in the metadata DB and run_dag records them.

dag.test() runs one DAG: what it can show is what that DAG's tasks leave behind (asset events, a run
of another DAG created and left queued). Following runs has no counterpart there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagfiles import load_dags

from pytest_xcom import run_dag
from pytest_xcom._dagtest import run_dag_test

pytestmark = pytest.mark.slow

DAG_FILE = Path(__file__).parent / "deployment_dags" / "emit_and_trigger.py"
LOGICAL_DATE = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def both():
    real = run_dag_test(DAG_FILE, "emit_and_trigger", logical_date=LOGICAL_DATE)
    ours = run_dag(load_dags(DAG_FILE)["emit_and_trigger"], logical_date=LOGICAL_DATE)
    return real, ours


def test_task_states_match(both):
    real, ours = both
    assert ours.task_states == real.task_states
    assert ours.state == real.state


def test_asset_events_match(both):
    real, ours = both
    recorded = [(e.uri, e.name, e.extra, e.task_id, e.map_index) for e in ours.asset_events]
    # Airflow registers a task's outlets from a set: the order within one task is not fixed there.
    assert sorted(recorded, key=repr) == sorted(real.asset_events, key=repr)
    assert len(real.asset_events) == 5


def test_triggered_runs_match(both):
    real, ours = both
    assert [(r.dag_id, r.conf, r.state) for r in ours.triggered_runs] == [
        (dag_id, conf, state) for dag_id, _, conf, state in real.triggered_runs
    ]
    assert ours.xcoms[("trigger", -1, "trigger_run_id")] == ours.triggered_runs[0].run_id
    assert real.xcoms[("trigger", -1, "trigger_run_id")] == real.triggered_runs[0][1]
