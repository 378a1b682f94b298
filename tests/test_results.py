"""What a DAG run's result answers: the order attempts ran in, and a mapped task's values as a list."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagfiles import load_dags

from pytest_xcom._compat import AIRFLOW_MINOR
from pytest_xcom._dagtest import run_dag_test

DAGS = Path(__file__).parent / "results_dags"
LOGICAL_DATE = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def mapped_pulls():
    return load_dags(DAGS / "mapped_pulls.py")


def test_order_lists_each_attempt_as_it_started(run_dag):
    dag = load_dags(DAGS / "attempts.py")["attempts"]  # fresh: the module notes every attempt it runs

    result = run_dag(dag, logical_date=LOGICAL_DATE)

    assert result.order == [("start", -1), ("flaky", 0), ("flaky", 0), ("flaky", 0), ("finish", -1)]
    assert [tuple(entry[:2]) for entry in result["finish"].return_value] == result.order


def test_order_puts_every_instance_after_its_upstreams(run_dag, mapped_pulls):
    result = run_dag(mapped_pulls["mapped_pulls"], logical_date=LOGICAL_DATE)

    assert sorted(result.order) == sorted(result.tasks)  # each instance that ran, once (no retries here)
    position = {key: i for i, key in enumerate(result.order)}
    dag = mapped_pulls["mapped_pulls"]
    for (task_id, _), i in position.items():
        for upstream in dag.task_dict[task_id].upstream_task_ids:
            assert all(position[key] < i for key in position if key[0] == upstream)


def test_mapped_gives_what_a_downstream_task_receives(run_dag, mapped_pulls):
    result = run_dag(mapped_pulls["mapped_pulls"], logical_date=LOGICAL_DATE)

    assert result.mapped("each") == [{"x": 1, "square": 1}, {"x": 3, "square": 9}, {"x": 5, "square": 25}]
    assert result.mapped("each") == result["collect"].return_value
    assert result.mapped("group.inner") == result["collect_group"].return_value == [101, 102, 103, 104, 105]
    # Before Airflow 3.3 a downstream task of a mapped group gets its NOTSET sentinel for a missing index.
    assert result.mapped("gaps.inner") == [101, 102, 104, 105]
    assert [v for v in result["collect_gaps"].return_value if v != "ArgNotSet"] == result.mapped("gaps.inner")
    assert result.mapped("only_one") == [70]
    assert result.mapped("each_with_key", key="note") == ["note 1", "note 2", "note 4", "note 5"]
    assert result.mapped("each", key="note") == []


def test_mapped_of_an_empty_expansion_is_empty(run_dag, mapped_pulls):
    result = run_dag(mapped_pulls["mapped_pulls_empty"], logical_date=LOGICAL_DATE)

    assert result.task_states[("each", -1)] == "skipped"
    assert result.mapped("each") == []


def test_mapped_refuses_an_unmapped_or_unknown_task(run_dag, mapped_pulls):
    result = run_dag(mapped_pulls["mapped_pulls"], logical_date=LOGICAL_DATE)

    with pytest.raises(ValueError, match=r"'numbers' is not mapped .*result\['numbers'\].return_value"):
        result.mapped("numbers")
    with pytest.raises(KeyError, match=r"no task 'eahc' .*did you mean 'each'"):
        result.mapped("eahc")


@pytest.mark.slow
@pytest.mark.parametrize("dag_id", ["mapped_pulls", "mapped_pulls_empty"])
def test_mapped_matches_what_downstream_tasks_received_in_dag_test(mapped_pulls, dag_id):
    real = run_dag_test(DAGS / "mapped_pulls.py", dag_id, logical_date=LOGICAL_DATE)
    from pytest_xcom import run_dag

    ours = run_dag(mapped_pulls[dag_id], logical_date=LOGICAL_DATE)

    assert real.state == ours.state == "success"
    assert ours.task_states == real.task_states
    assert ours.xcoms == real.xcoms
    received = {
        "collect": "each",
        "collect_keyed": "each_with_key",
        "collect_group": "group.inner",
        "collect_gaps": "gaps.inner",
        "collect_single": "only_one",
    }
    for downstream, mapped in received.items():
        if (downstream, -1, "return_value") in real.xcoms:
            got = real.xcoms[(downstream, -1, "return_value")]
            if AIRFLOW_MINOR < (3, 3):  # the sentinel in a gap of a mapped group, which mapped() leaves out
                got = [v for v in got if v != "ArgNotSet"]
            assert ours.mapped(mapped) == got, downstream
    if dag_id == "mapped_pulls":
        pulled = real.xcoms[("pull_all", -1, "return_value")]
        assert ours.mapped("each") == pulled["each"]
        assert ours.mapped("each_with_key", key="note") == pulled["notes"]
        assert ours.mapped("group.inner") == pulled["inner"]
        assert ours.mapped("gaps.inner") == pulled["gaps"]


@pytest.mark.slow
def test_order_matches_the_order_dag_test_ran_the_attempts_in():
    real = run_dag_test(DAGS / "attempts.py", "attempts", logical_date=LOGICAL_DATE)
    from pytest_xcom import run_dag

    ours = run_dag(load_dags(DAGS / "attempts.py")["attempts"], logical_date=LOGICAL_DATE)

    assert real.state == ours.state == "success"
    assert ours.order == [tuple(entry[:2]) for entry in real.xcoms[("finish", -1, "return_value")]]


def test_a_value_no_pull_can_read_is_kept_in_the_results_as_unreadable(run_dag):
    from pytest_xcom import UnreadableXCom

    result = run_dag(load_dags(DAGS / "refused_values.py")["push_unreadable"], logical_date=LOGICAL_DATE)

    assert result.task_states == {("push_reading", -1): "success", ("pull_reading", -1): "failed"}
    pushed = result["push_reading"].return_value
    assert isinstance(pushed, UnreadableXCom)
    assert isinstance(pushed.error, ImportError)
    assert "allowed_deserialization_classes" in repr(pushed)
    assert result.xcoms[("push_reading", -1, "return_value")] is not None
    assert isinstance(result["pull_reading"].error, ImportError)


@pytest.mark.slow
def test_a_value_no_pull_can_read_fails_its_puller_as_in_dag_test():
    real = run_dag_test(DAGS / "refused_values.py", "push_unreadable", logical_date=LOGICAL_DATE)
    from pytest_xcom import run_dag

    ours = run_dag(load_dags(DAGS / "refused_values.py")["push_unreadable"], logical_date=LOGICAL_DATE)

    assert ours.task_states == real.task_states
    assert ours.state == real.state
