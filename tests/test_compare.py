"""pytest_xcom.compare: the one comparer of dag.test() and run_dag results, and compare_with_airflow."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

import pytest_xcom
from pytest_xcom.compare import Comparison, compare_outcomes, main, only_reordered

WHEN = datetime(2024, 1, 1, tzinfo=UTC)


def outcome(states=None, xcoms=None, state="success", **extra):
    """A stand-in for a DagTestOutcome or DagRunResult: the fields compare_outcomes reads."""
    fields = dict(
        dag_id="d",
        state=state,
        logical_date=WHEN,
        data_interval_start=WHEN,
        data_interval_end=WHEN,
        data_interval=(WHEN, WHEN),
        task_states={("a", -1): "success"} if states is None else states,
        xcoms={("a", -1, "return_value"): 1} if xcoms is None else xcoms,
    )
    fields.update(extra)
    return SimpleNamespace(**fields)


def test_the_public_names_are_exported():
    assert pytest_xcom.Comparison is Comparison
    assert pytest_xcom.compare_with_airflow.__module__ == "pytest_xcom.compare"


def test_identical_runs_have_no_differences_and_say_what_was_left_out():
    comparison = compare_outcomes(outcome(), outcome())
    assert comparison.identical
    assert comparison.differences == []
    assert any("clocks" in note for note in comparison.notes)


def test_each_difference_is_a_line_naming_task_map_index_and_both_values():
    real = outcome(
        states={("a", -1): "success", ("m", 0): "skipped", ("m", 1): "skipped"},
        xcoms={("a", -1, "return_value"): [1, 2]},
        state="failed",
    )
    ours = outcome(states={("a", -1): "failed", ("m", -1): "skipped"}, xcoms={("a", -1, "return_value"): [1]})
    comparison = compare_outcomes(real, ours)
    assert not comparison.identical
    assert comparison.differences == [
        "run state: dag.test() 'failed', run_dag 'success'",
        "a state: dag.test() 'success', run_dag 'failed'",
        "m state: dag.test() (none), run_dag 'skipped'",
        "m[0] state: dag.test() 'skipped', run_dag (none)",
        "m[1] state: dag.test() 'skipped', run_dag (none)",
        "a xcom 'return_value': dag.test() [1, 2], run_dag [1]",
    ]
    assert [d.what for d in comparison.details] == ["run state", "state", "state", "state", "state", "xcom"]
    assert "run state: dag.test() 'failed'" in str(comparison)


def test_values_compare_by_type_too():
    real = outcome(xcoms={("a", -1, "k"): (1, 2), ("a", -1, "n"): True})
    ours = outcome(xcoms={("a", -1, "k"): [1, 2], ("a", -1, "n"): 1})
    assert [d.key for d in compare_outcomes(real, ours).details] == ["k", "n"]


def test_an_integral_float_read_back_as_an_int_is_a_noted_sqlite_artifact_not_a_difference():
    real = outcome(xcoms={("a", -1, "return_value"): {"x": [2]}})
    ours = outcome(xcoms={("a", -1, "return_value"): {"x": [2.0]}})
    comparison = compare_outcomes(real, ours)
    assert comparison.identical
    assert any("SQLite artifact" in note and "'return_value'" in note for note in comparison.notes)
    # A float that is not integral is a real difference.
    assert not compare_outcomes(real, outcome(xcoms={("a", -1, "return_value"): {"x": [2.5]}})).identical


def test_a_value_real_airflow_varies_is_left_out_with_a_note_and_only_that_value():
    real = outcome(xcoms={("a", -1, "order"): ["x", "y"], ("a", -1, "stable"): 1})
    ours = outcome(xcoms={("a", -1, "order"): ["y", "x"], ("a", -1, "stable"): 2})
    again = outcome(xcoms={("a", -1, "order"): ["y", "x"], ("a", -1, "stable"): 1})
    comparison = compare_outcomes(real, ours, again=[real, again])
    assert comparison.differences == ["a xcom 'stable': dag.test() 1, run_dag 2"]
    assert any("nondeterministic in Airflow" in note and "'order'" in note for note in comparison.notes)
    # A second run that agrees with the first leaves the difference in.
    assert len(compare_outcomes(real, ours, again=real).details) == 2


def test_dates_compare_as_instants_unless_left_out():
    other = datetime(2024, 1, 2, tzinfo=UTC)
    ours = outcome(logical_date=other, data_interval=(other, other))
    assert [d.what for d in compare_outcomes(outcome(), ours).details] == ["logical_date", "data_interval"]
    assert compare_outcomes(outcome(), ours, compare_dates=False).identical


DAG_SOURCE = """
    import datetime
    from airflow.sdk import dag, task

    @dag(dag_id="{dag_id}", schedule=None, start_date=datetime.datetime(2024, 1, 1))
    def make():
        @task
        def numbers():
            return [1, 2, 3]

        @task
        def double(x):
            return 2 * x

        @task
        def total(values):
            return sum(values)

        total(double.expand(x=numbers()))

    make()
"""


def write(folder: Path, dag_id: str = "mapped_sum", name: str = "dag_file.py") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(DAG_SOURCE.format(dag_id=dag_id)))
    return path


def test_a_file_with_several_dags_needs_a_dag_id(tmp_path: Path):
    path = write(tmp_path)
    path.write_text(path.read_text() + textwrap.dedent(DAG_SOURCE.format(dag_id="second")))
    with pytest.raises(ValueError, match=r"defines 2 DAGs \('mapped_sum', 'second'\): pass dag_id="):
        pytest_xcom.compare_with_airflow(path)
    with pytest.raises(ValueError, match=r"defines no DAG 'mapped_summ'.*did you mean 'mapped_sum'"):
        pytest_xcom.compare_with_airflow(path, dag_id="mapped_summ")
    with pytest.raises(FileNotFoundError, match="DAG file not found"):
        pytest_xcom.compare_with_airflow(tmp_path / "missing.py")


@pytest.mark.slow
def test_compare_with_airflow_agrees_on_a_mapped_dag(tmp_path: Path):
    comparison = pytest_xcom.compare_with_airflow(write(tmp_path), logical_date=WHEN)
    assert comparison.identical, str(comparison)
    assert comparison.airflow.xcoms[("total", -1, "return_value")] == 12
    assert comparison.ours.task_states[("double", 2)] == "success"


@pytest.mark.slow
def test_the_command_exits_1_on_a_difference_and_prints_it(tmp_path: Path, monkeypatch, capsys):
    import pytest_xcom.runner

    real_run_dag = pytest_xcom.runner.run_dag

    def run_dag_with_a_wrong_state(dag, **kwargs):
        result = real_run_dag(dag, **kwargs)
        result.task_states[("total", -1)] = "failed"
        return result

    path = write(tmp_path)
    monkeypatch.setattr(pytest_xcom.runner, "run_dag", run_dag_with_a_wrong_state)
    assert main([str(path), "--logical-date", "2024-01-01"]) == 1
    out = capsys.readouterr().out
    assert "total state: dag.test() 'success', run_dag 'failed'" in out
    monkeypatch.setattr(pytest_xcom.runner, "run_dag", real_run_dag)
    assert main([str(path), "--logical-date", "2024-01-01T00:00:00+00:00"]) == 0
    assert "mapped_sum: dag.test() and run_dag agree" in capsys.readouterr().out


def test_an_order_only_difference_is_recognised_for_more_reruns():
    real = outcome(xcoms={("b", -1, "skipmixin_key"): {"skipped": ["x", "y"]}, ("a", -1, "k"): ["x", "y"]})
    ours = outcome(xcoms={("b", -1, "skipmixin_key"): {"skipped": ["x", "y"]}, ("a", -1, "k"): ["y", "x"]})
    assert only_reordered(compare_outcomes(real, ours))
    nested = outcome(xcoms={("b", -1, "skipmixin_key"): {"followed": ["g.y", "g.x"]}})
    assert only_reordered(
        compare_outcomes(outcome(xcoms={("b", -1, "skipmixin_key"): {"followed": ["g.x", "g.y"]}}), nested)
    )
    assert not only_reordered(compare_outcomes(real, outcome(xcoms={("a", -1, "k"): ["y", "z"]})))
