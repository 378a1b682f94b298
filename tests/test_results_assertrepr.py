"""A failed comparison of a run's task states or XComs with a dict says what differs, key by key."""

from __future__ import annotations

import pytest

from pytest_xcom.assertrepr import explain
from pytest_xcom.runner.results import RunXComs, TaskStates, TaskXComs

# Assertion rewriting must go on working in the tested file: the run happens in a test of its own.
FAILING_TESTS = """
    from airflow.sdk import DAG, task

    with DAG("pipeline", schedule=None) as dag:

        @task
        def extract():
            return {"rows": 3}

        @task
        def load(data):
            raise ValueError("no table")

        load(extract())

    def test_states(run_dag):
        result = run_dag(dag, logical_date="2024-01-01")
        expected = {("extract", -1): "success", ("load", -1): "success", ("report", -1): "success"}
        assert result.task_states == expected

    def test_xcoms(run_dag):
        result = run_dag(dag, logical_date="2024-01-01")
        assert result.xcoms == {("extract", -1, "return_value"): {"rows": 4}}

    def test_task_xcoms(run_task):
        @task
        def one():
            return 1

        with DAG("single", schedule=None):
            op = one()
        assert run_task(op).xcoms == {"return_value": 2}

    def test_equal_passes(run_dag):
        result = run_dag(dag, logical_date="2024-01-01")
        assert result.task_states == {("extract", -1): "success", ("load", -1): "failed"}
        assert result.xcoms == {("extract", -1, "return_value"): {"rows": 3}}
"""


@pytest.mark.slow
def test_pytest_shows_the_differences_of_a_failed_comparison(pytester):
    pytester.makepyfile(test_pipeline=FAILING_TESTS)

    result = pytester.runpytest_subprocess("-p", "pytest_xcom", "-p", "no:randomly", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "E   *assert task states: the run == expected: 1 different, 1 only in expected",
            "E         different:",
            "E           ('load', -1): the run 'failed', expected 'success'",
            "E         only in expected:",
            "E           ('report', -1): 'success'",
            "E         1 equal entry not shown",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E   *assert XComs: the run == expected: 1 different",
            "E         different:",
            "E           ('extract', -1, 'return_value'): the run {'rows': 3}, expected {'rows': 4}",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E   *assert XComs: the run == expected: 1 different",
            "E         different:",
            "E           'return_value': the run 1, expected 2",
        ]
    )
    # It replaces pytest's own dict diff rather than adding to it.
    result.stdout.no_fnmatch_line("*Omitting * identical items*")


def test_the_expected_dict_may_be_on_the_left():
    lines = explain("==", {("a", -1): "success"}, TaskStates({("a", -1): "failed", ("b", 0): "success"}))

    assert lines == [
        "task states: expected == the run: 1 different, 1 only in the run",
        "different:",
        "  ('a', -1): expected 'success', the run 'failed'",
        "only in the run:",
        "  ('b', 0): 'success'",
    ]


def test_two_runs_compared_are_left_and_right():
    lines = explain("==", RunXComs({("a", -1, "k"): 1}), RunXComs({("a", -1, "k"): 2}))

    assert lines is not None
    assert lines[0] == "XComs: left == right: 1 different"
    assert lines[2] == "  ('a', -1, 'k'): left 1, right 2"


def test_long_values_are_cut_unless_very_verbose():
    long = "x" * 500
    short = explain("==", TaskXComs({"k": long}), {"k": "y"})
    full = explain("==", TaskXComs({"k": long}), {"k": "y"}, verbose=2)

    assert short is not None and full is not None
    assert short[2].endswith("..., expected 'y'") and len(short[2]) < 250
    assert repr(long) in full[2]


@pytest.mark.parametrize(
    ("op", "left", "right"),
    [
        ("==", {("a", -1): "x"}, {("a", -1): "y"}),  # plain dicts: pytest's own diff
        ("!=", TaskStates({("a", -1): "x"}), {("a", -1): "x"}),
        ("==", TaskStates({("a", -1): "x"}), [("a", -1)]),
    ],
)
def test_other_comparisons_are_left_to_pytest(op, left, right):
    assert explain(op, left, right) is None


def test_results_hold_the_explained_dicts(run_dag, run_task):
    from airflow.sdk import DAG, task

    @task
    def one():
        return 1

    with DAG("one_task", schedule=None) as dag:
        op = one()

    result = run_dag(dag)
    assert type(result.task_states) is TaskStates and result.task_states == {("one", -1): "success"}
    assert type(result.xcoms) is RunXComs and result.xcoms == {("one", -1, "return_value"): 1}
    assert type(run_task(op).xcoms) is TaskXComs
