"""The dag.test() harness (pytest_xcom._dagtest) reports what real Airflow did, and leaks nothing.

Each test starts a subprocess that runs Airflow's dag.test() on a throwaway sqlite DB (~5 s), hence
the slow marker. Nothing here imports pytest_xcom's Airflow-facing modules, so these tests check the
harness on every supported Airflow version.
"""

from __future__ import annotations

import os
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pytest_xcom._dagtest import (
    DagTestError,
    DagTestOutcome,
    DagTestRequest,
    DagTestTimeout,
    UndecodedXCom,
    run_dag_test,
    run_dag_tests,
)

LOGICAL_DATE = datetime(2024, 3, 1, tzinfo=UTC)

PUSH_PULL_DAG = """
    import datetime
    from airflow.sdk import dag, task

    @dag(schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False)
    def push_pull():
        @task
        def push():
            return {"numbers": (1, 2, 3), "day": datetime.date(2024, 1, 2)}

        @task
        def pull(value):
            # serde must hand the tuple back as a tuple for this to hold
            assert value["numbers"] == (1, 2, 3), value
            return sum(value["numbers"])

        pull(push())

    push_pull()
"""


def write_dag(folder: Path, source: str, name: str = "dag_file.py") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


@pytest.fixture(scope="module")
def push_pull(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[DagTestOutcome, dict[str, str], dict[str, str]]:
    folder = tmp_path_factory.mktemp("dags")
    # A sibling that would fail to import: bundle="file" must not parse it.
    write_dag(folder, "raise RuntimeError('sibling file was parsed')\n", name="broken_sibling.py")
    dag_file = write_dag(folder, PUSH_PULL_DAG)
    env_before = dict(os.environ)
    outcome = run_dag_test(dag_file, "push_pull", logical_date=LOGICAL_DATE, repeat=2)
    return outcome, env_before, dict(os.environ)


@pytest.mark.slow
def test_xcoms_come_back_deserialised(push_pull):
    outcome, _, _ = push_pull
    assert outcome.xcoms == {
        ("push", -1, "return_value"): {"numbers": (1, 2, 3), "day": datetime(2024, 1, 2).date()},
        ("pull", -1, "return_value"): 6,
    }
    assert outcome.undecoded == {}


@pytest.mark.slow
def test_states_and_run_info(push_pull):
    outcome, _, _ = push_pull
    assert outcome.dag_id == "push_pull"
    assert outcome.state == "success"
    assert outcome.task_states == {("push", -1): "success", ("pull", -1): "success"}
    assert outcome.logical_date == LOGICAL_DATE
    assert outcome.data_interval_start == LOGICAL_DATE
    assert outcome.data_interval_end == LOGICAL_DATE
    assert isinstance(outcome.run_id, str) and outcome.run_id


@pytest.mark.slow
def test_repeat_reports_each_call(push_pull):
    outcome, _, _ = push_pull
    assert outcome.states_per_call == ("success", "success")
    assert len(outcome.seconds_per_call) == 2
    assert outcome.seconds == outcome.seconds_per_call[0]
    assert all(s > 0 for s in outcome.seconds_per_call)
    assert outcome.setup_seconds > 0
    assert {"import_airflow", "db_init", "load_dag", "total"} <= outcome.timings.keys()
    assert [call.state for call in outcome.calls] == ["success", "success"]
    assert outcome.calls[1].logical_date == LOGICAL_DATE + timedelta(days=1)


@pytest.mark.slow
def test_parent_environment_is_untouched(push_pull):
    _, env_before, env_after = push_pull
    assert env_after == env_before


@pytest.mark.slow
def test_failed_task_and_undecodable_value(tmp_path: Path):
    dag_file = write_dag(
        tmp_path,
        """
        import dataclasses
        import datetime
        from airflow.sdk import dag, task

        @dataclasses.dataclass
        class Point:  # defined in the DAG module, which is not in allowed_deserialization_classes
            x: int

        @dag(schedule=None, start_date=datetime.datetime(2024, 1, 1))
        def failing():
            @task
            def make_point():
                return Point(1)

            @task
            def boom():
                raise ValueError("no")

            @task
            def after(value):
                return value

            make_point()
            after(boom())

        failing()
        """,
    )
    outcome = run_dag_test(dag_file, "failing", logical_date=LOGICAL_DATE)
    assert outcome.state == "failed"
    assert outcome.task_states == {
        ("make_point", -1): "success",
        ("boom", -1): "failed",
        ("after", -1): "upstream_failed",
    }
    point = outcome.xcoms[("make_point", -1, "return_value")]
    assert isinstance(point, UndecodedXCom)
    assert "allow" in point.error and '"x": 1' in point.raw_json


@pytest.mark.slow
def test_unknown_dag_id_raises_with_stderr(tmp_path: Path):
    dag_file = write_dag(tmp_path, PUSH_PULL_DAG)
    with pytest.raises(DagTestError, match="no_such_dag") as excinfo:
        run_dag_test(dag_file, "no_such_dag")
    assert isinstance(excinfo.value, RuntimeError)
    assert "push_pull" in excinfo.value.stderr_tail  # the DAGs that were found are listed


SLEEPY_DAG = """
    import datetime
    from airflow.sdk import dag
    from airflow.providers.standard.operators.bash import BashOperator

    @dag(schedule=None, start_date=datetime.datetime(2024, 1, 1))
    def sleepy():
        BashOperator(task_id="nap", bash_command="touch {marker}; sleep {seconds}")

    sleepy()
"""


@pytest.mark.slow
def test_a_batch_reports_each_dag_and_survives_failures_and_hangs(tmp_path: Path):
    psutil = pytest.importorskip("psutil")
    started_marker = tmp_path / "task-started"
    # A fractional duration nobody else uses identifies the sleep process; BashOperator runs it in a
    # session of its own, out of reach of a plain process-group kill.
    sleep_seconds = f"600.{os.getpid()}"
    good = write_dag(tmp_path, PUSH_PULL_DAG, name="good.py")
    # It must name "airflow" and "dag" for the DagBag to parse it at all.
    broken = write_dag(tmp_path, "import airflow\nraise RuntimeError('this DAG file is broken')\n", "b.py")
    sleepy = write_dag(tmp_path, SLEEPY_DAG.format(marker=started_marker, seconds=sleep_seconds), "sleepy.py")
    requests = [
        DagTestRequest(good, "push_pull", logical_date=LOGICAL_DATE),
        DagTestRequest(broken, "broken"),
        DagTestRequest(good, "no_such_dag"),
        DagTestRequest(sleepy, "sleepy"),  # hangs: killed, and the child started again for the rest
        DagTestRequest(good, "push_pull", logical_date=LOGICAL_DATE, repeat=2),  # same dag_id: own DB
    ]
    # The timeout counts from the previous DAG's end, and the first DAG starts the child, so the hang
    # is timed on a warm child. The bound leaves room for a cold start on a busy machine: the DAG that
    # hangs sleeps ten minutes, far past it.
    results = run_dag_tests(requests, timeout=90)

    assert [type(r) for r in results] == [
        DagTestOutcome,
        DagTestError,
        DagTestError,
        DagTestTimeout,
        DagTestOutcome,
    ]
    assert "this DAG file is broken" in str(results[1])
    assert "no_such_dag" in str(results[2]) and "push_pull" in results[2].stderr_tail
    assert started_marker.exists(), "the task never started, so the kill was not exercised"
    time.sleep(0.5)
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if sleep_seconds in (p.info["cmdline"] or [])]
    assert leftovers == []

    first, last = results[0], results[4]
    assert first.task_states == last.task_states == {("push", -1): "success", ("pull", -1): "success"}
    assert [call.logical_date for call in last.calls] == [LOGICAL_DATE, LOGICAL_DATE + timedelta(days=1)]
    assert [call.state for call in last.calls] == ["success", "success"]
    assert last.calls[1].xcoms == last.xcoms and last.calls[1].run_id != last.run_id


def test_a_request_with_no_runs_is_refused(tmp_path: Path):
    dag_file = write_dag(tmp_path, PUSH_PULL_DAG)
    with pytest.raises(ValueError, match="repeat must be >= 1"):
        run_dag_tests([DagTestRequest(dag_file, "push_pull", repeat=0)])
