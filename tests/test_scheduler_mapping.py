"""Dynamic task mapping as the scheduler does it: literal expansion at run creation, mapped task groups
judged per map index, and MappedTaskUpstreamDep. tests/test_scheduler_differential.py checks the same
DAGs against dag.test()."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagfiles import load_dags

import pytest_xcom
from pytest_xcom._compat import AIRFLOW_MINOR
from pytest_xcom._dagtest import run_dag_test

DAGS = Path(__file__).parent / "scheduler_dags"


@pytest.fixture(scope="module")
def literal_dags():
    return load_dags(DAGS / "literal_mapping.py")


@pytest.fixture(scope="module")
def group_dags():
    return load_dags(DAGS / "mapped_groups.py")


@pytest.fixture(scope="module")
def source_dags():
    return load_dags(DAGS / "mapped_upstream.py")


# -- mapping over literals: map indexes exist from the start ---------------------------------------------


def test_literal_expansions_run_every_map_index(run_dag, literal_dags):
    result = run_dag(literal_dags["literal_expand"])
    assert result.state == "success"
    assert [result.xcoms[("double", i, "return_value")] for i in range(3)] == [2, 4, 6]
    assert [result.xcoms[("add", i, "return_value")] for i in range(2)] == [3, 7]
    assert result.xcoms[("total", -1, "return_value")] == 12


def test_a_failed_upstream_fails_each_literal_map_index(run_dag, literal_dags):
    result = run_dag(literal_dags["literal_expand_after_failure"])
    assert result.task_states == {
        ("boom", -1): "failed",
        ("double", 0): "upstream_failed",
        ("double", 1): "upstream_failed",
        ("double", 2): "upstream_failed",
        ("total", -1): "upstream_failed",
    }


@pytest.mark.skipif(
    AIRFLOW_MINOR < (3, 2),
    reason="before 3.2 each map index looks for the branch's decision at its own index and runs; "
    "test_scheduler_differential checks it against that version's dag.test()",
)
def test_a_branch_not_taken_skips_each_literal_map_index(run_dag, literal_dags):
    result = run_dag(literal_dags["literal_expand_after_branch"])
    assert result.task_states[("double", 0)] == result.task_states[("double", 1)] == "skipped"
    assert ("double", -1) not in result.task_states


def test_an_empty_literal_skips_the_one_unexpanded_instance(run_dag, literal_dags):
    result = run_dag(literal_dags["literal_expand_zero"])
    assert result.task_states == {("double", -1): "skipped", ("after", -1): "success"}


def test_a_group_mapped_over_a_literal_pairs_instances_by_map_index(run_dag, literal_dags):
    result = run_dag(literal_dags["literal_group"])
    assert [result.xcoms[("pipeline.double", i, "return_value")] for i in range(3)] == [4, 6, 8]
    assert result.xcoms[("total", -1, "return_value")] == 18


# -- mapped task groups: one map index at a time ----------------------------------------------------------


def test_a_failed_index_fails_only_its_own_downstream_index_in_the_group(run_dag, group_dags):
    result = run_dag(group_dags["group_all_success_after_failed_index"])
    states = result.task_states
    assert [states[("guarded.plus_one", i)] for i in range(3)] == ["success", "upstream_failed", "success"]
    assert ("guarded.plus_one", -1) not in states
    assert states[("collect", -1)] == "upstream_failed"
    assert result.state == "failed"


@pytest.mark.skipif(
    AIRFLOW_MINOR < (3, 3),
    reason="before 3.3 a one_failed task in a mapped group is triggered by any index's failure; "
    "test_scheduler_differential checks it against that version's dag.test()",
)
@pytest.mark.parametrize("dag_id", ["group_fails_one_index", "group_literal_fails_one_index"])
def test_trigger_rules_inside_a_mapped_group_see_their_own_index(run_dag, group_dags, dag_id):
    result = run_dag(group_dags[dag_id])
    group = "per_item" if dag_id == "group_fails_one_index" else "per_literal"
    states = result.task_states
    assert [states[(f"{group}.on_failure", i)] for i in range(3)] == ["skipped", "success", "skipped"]
    assert [result.xcoms[(f"{group}.report", i, "return_value")] for i in range(3)] == [
        [0, 1],
        [1, None],
        [2, 3],
    ]


# -- MappedTaskUpstreamDep: a failed or skipped list source decides the mapped task -------------------------


@pytest.mark.parametrize(
    ("dag_id", "mapped", "state"),
    [
        ("source_failed_all_done", "each", "upstream_failed"),
        ("source_skipped_all_done", "each", "skipped"),
        ("source_skipped_none_failed", "each_none_failed", "skipped"),
    ],
)
def test_a_mapped_task_whose_list_source_did_not_succeed_is_decided_whatever_its_rule(
    run_dag, source_dags, dag_id, mapped, state
):
    result = run_dag(source_dags[dag_id])
    assert result.task_states[(mapped, -1)] == state
    assert result.state == "success"  # the leaves (all_done, skipped) succeed, as in Airflow
    assert "none" not in result.task_states.values()


def test_the_trigger_rule_speaks_after_a_failed_list_source(run_dag, source_dags):
    # MappedTaskUpstreamDep says upstream_failed, all_skipped with a failed upstream says skipped; the
    # trigger rule is evaluated last, and an instance whose deps are not met is never expanded.
    result = run_dag(source_dags["source_failed_all_skipped"])
    assert result.task_states == {("broken_source", -1): "failed", ("each_all_skipped", -1): "skipped"}
    assert result.state == "success"


@pytest.mark.slow
def test_a_failed_list_source_under_all_skipped_is_decided_as_dag_test_decides():
    # Airflow evaluates the two deps in a set's order, which changes from process to process (memory
    # addresses, not only the hash seed): dag.test() gives skipped in one, upstream_failed in another.
    # run_dag must give one of them, and the run's state that follows from it.
    path = DAGS / "mapped_upstream.py"
    date = datetime(2024, 1, 1, tzinfo=UTC)
    real = run_dag_test(path, "source_failed_all_skipped", logical_date=date)
    ours = pytest_xcom.run_dag(load_dags(path)["source_failed_all_skipped"], logical_date=date)

    decided = ("each_all_skipped", -1)
    run_state_after = {"skipped": "success", "upstream_failed": "failed"}
    for result in (real, ours):
        assert result.state == run_state_after[result.task_states[decided]]
    assert {k: v for k, v in ours.task_states.items() if k != decided} == {
        k: v for k, v in real.task_states.items() if k != decided
    }
    assert ours.xcoms == real.xcoms


def test_a_task_starting_before_its_upstream_group_has_a_length_fails_only_on_3_0(run_dag, group_dags):
    from airflow.sdk.api.client import ServerResponseError

    result = run_dag(group_dags["group_length_unknown_at_start"])

    finished = result["finish"]
    assert result.order.index(("finish", -1)) < result.order.index(("numbers", -1))
    if AIRFLOW_MINOR < (3, 1):
        assert finished.state == "failed"
        assert isinstance(finished.error, ServerResponseError)
        assert "NotFullyPopulated" in str(finished.error)
        assert finished.try_number == 1 and finished.logs.messages == []  # it never ran
    else:
        assert (finished.state, finished.return_value) == ("success", "finished")
    assert result.task_states[("doubled.keep", 1)] == "failed"
