"""Hand-made DAGs for the scheduler's hard cases, run by dag.test() on a metadata DB and by run_dag.

Each DAG in tests/scheduler_dags/ exercises one piece of the scheduler's code (literal mappings created
with the run, mapped task groups judged per map index, MappedTaskUpstreamDep, retries evaluated pass
by pass, a teardown waiting for the tasks between its setup and itself); task states, the run's state
and every XCom must be what dag.test() gives. Several of them are where Airflow's minors differ.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagfiles import load_dags

import pytest_xcom
from pytest_xcom._dagtest import run_dag_test

pytestmark = pytest.mark.slow

DAGS = Path(__file__).parent / "scheduler_dags"
LOGICAL_DATE = datetime(2024, 1, 1, tzinfo=UTC)

CASES = [
    ("literal_mapping.py", "literal_expand"),
    ("literal_mapping.py", "literal_expand_after_failure"),
    ("literal_mapping.py", "literal_group"),
    ("literal_mapping.py", "literal_expand_zero"),
    ("literal_mapping.py", "literal_expand_after_branch"),
    ("mapped_groups.py", "group_fails_one_index"),
    ("mapped_groups.py", "group_literal_fails_one_index"),
    ("mapped_groups.py", "group_all_success_after_failed_index"),
    ("mapped_groups.py", "group_length_unknown_at_start"),
    ("mapped_upstream.py", "source_failed_all_done"),
    ("mapped_upstream.py", "source_skipped_all_done"),
    ("mapped_upstream.py", "source_skipped_none_failed"),
    ("retries.py", "retry_one_success"),
    ("retries.py", "retry_one_failed"),
    ("retries.py", "retry_in_mapped_group"),
    ("retries.py", "retry_delays_order"),
    ("teardown_scope.py", "teardown_waits_for_scope"),
]


@pytest.mark.parametrize(("file_name", "dag_id"), CASES, ids=[c[1] for c in CASES])
def test_run_dag_gives_what_dag_test_gives(file_name, dag_id):
    path = DAGS / file_name
    real = run_dag_test(path, dag_id, logical_date=LOGICAL_DATE)
    ours = pytest_xcom.run_dag(load_dags(path)[dag_id], logical_date=LOGICAL_DATE)

    assert ours.task_states == real.task_states
    assert ours.state == real.state
    assert ours.xcoms == real.xcoms
