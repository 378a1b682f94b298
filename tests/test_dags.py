"""load_dags: a folder parsed as the DAG processor parses it, checked against Airflow's own DagBag."""

from __future__ import annotations

import inspect
import os
import signal
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_xcom import load_dags

GOOD = """
    from airflow.sdk import DAG, Param
    from airflow.providers.standard.operators.empty import EmptyOperator

    with DAG("good", schedule=None, params={"n": Param(3, type="integer")}, tags=["t"]):
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b", trigger_rule="all_done")
"""

DECORATED = """
    from airflow.sdk import dag, task

    @dag(schedule=None)
    def decorated():
        @task
        def one():
            return 1

        one()

    decorated()
"""

ASSET = """
    from airflow.sdk import asset

    @asset(schedule=None)
    def my_asset():
        return 1
"""

BROKEN = """
    from airflow.sdk import DAG

    value = 1
    raise ValueError("boom at import")
"""

CYCLE = """
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.empty import EmptyOperator

    with DAG("cyclic", schedule=None):
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b")
        a >> b >> a
"""

DUPLICATE = """
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.empty import EmptyOperator

    with DAG("good", schedule=None):
        EmptyOperator(task_id="x")
"""

READS_AT_PARSE = """
    from airflow.sdk import DAG, Connection, Variable
    from airflow.sdk.bases.xcom import BaseXCom  # where 3.0 and 3.1 have it (airflow.sdk too from 3.2)
    from airflow.providers.standard.operators.empty import EmptyOperator

    threshold = Variable.get("threshold", default="5")
    host = Connection.get("warehouse").host
    last = BaseXCom.get_one(key="count", dag_id="other", task_id="count", run_id="r1")

    with DAG("reads", schedule=None):
        EmptyOperator(task_id="a")
"""

# Bounded, so that a broken timeout fails the test instead of hanging it.
SLOW = """
    import time
    from airflow.sdk import DAG

    time.sleep(10)
"""

# No "airflow" in the text: the DAG processor's heuristic skips the file unless safe mode is off.
NOT_A_DAG_FILE = """
    raise RuntimeError("imported although the heuristic skips it")
"""


def write(folder, files):
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return folder


@pytest.fixture
def airflow_dagbag():
    """Airflow's own DagBag on a folder, the reference; the process-wide state it changes put back."""

    def parse(folder):
        try:
            from airflow.dag_processing.dagbag import DagBag
        except ImportError:  # Airflow < 3.2
            from airflow.models.dagbag import DagBag
        # Up to 3.2 a DagBag also loads Airflow's example DAGs unless told not to.
        if "include_examples" in inspect.signature(DagBag).parameters:
            return DagBag(str(folder), include_examples=False, bundle_path=folder)
        return DagBag(str(folder), bundle_path=folder)

    saved = (signal.getsignal(signal.SIGALRM), list(sys.path))
    try:
        yield parse
    finally:
        signal.signal(signal.SIGALRM, saved[0])
        sys.path[:] = saved[1]


def test_finds_dags_of_each_style_with_relative_import_error_keys(tmp_path):
    folder = write(
        tmp_path,
        {"good.py": GOOD, "decorated.py": DECORATED, "sub/asset_dag.py": ASSET, "sub/broken.py": BROKEN},
    )
    found = load_dags(folder)
    assert sorted(found.dags) == ["decorated", "good", "my_asset"]
    assert found.dag_files == {"good": "good.py", "decorated": "decorated.py", "my_asset": "sub/asset_dag.py"}
    assert list(found.import_errors) == ["sub/broken.py"]
    message = found.import_errors["sub/broken.py"]
    assert "ValueError: boom at import" in message
    assert f'File "{folder / "sub/broken.py"}", line 5' in message


def test_same_dags_and_import_errors_as_airflows_dagbag(tmp_path, airflow_dagbag):
    folder = write(
        tmp_path,
        {
            "good.py": GOOD,
            "decorated.py": DECORATED,
            "asset_dag.py": ASSET,
            "broken.py": BROKEN,
            "cycle.py": CYCLE,
            "zz_duplicate.py": DUPLICATE,
            "helper.py": NOT_A_DAG_FILE,
            "ignored/broken.py": BROKEN,
            ".airflowignore": "ignored/\n",
        },
    )
    ours = load_dags(folder)
    theirs = airflow_dagbag(folder)
    assert sorted(ours.dags) == sorted(theirs.dags)
    # 3.0's DagBag keys import errors by absolute path, later ones by the path in the bundle; ours are
    # always the latter.
    their_errors = [
        Path(key).relative_to(folder).as_posix() if Path(key).is_absolute() else key
        for key in theirs.import_errors
    ]
    assert sorted(ours.import_errors) == sorted(their_errors)
    assert sorted(ours.import_errors) == ["broken.py", "cycle.py", "zz_duplicate.py"]
    for dag_id, dag in ours.dags.items():
        assert [t.task_id for t in dag.tasks] == [t.task_id for t in theirs.dags[dag_id].tasks]


def test_airflowignore_and_the_text_heuristic_decide_which_files_are_parsed(tmp_path):
    folder = write(
        tmp_path,
        {"good.py": GOOD, "helper.py": NOT_A_DAG_FILE, "skip/broken.py": BROKEN, ".airflowignore": "skip/\n"},
    )
    found = load_dags(folder)
    assert found.files == ["good.py"]
    assert found.import_errors == {}


@pytest.mark.airflow_config({"core.dag_discovery_safe_mode": False})
def test_safe_mode_off_parses_every_python_file(tmp_path):
    found = load_dags(write(tmp_path, {"good.py": GOOD, "helper.py": NOT_A_DAG_FILE}))
    assert sorted(found.files) == ["good.py", "helper.py"]
    assert "imported although the heuristic skips it" in found.import_errors["helper.py"]


def test_import_error_names_the_line_cause_and_fix(tmp_path):
    found = load_dags(write(tmp_path, {"broken.py": BROKEN}))
    [problem] = found.file_problems("broken.py")
    assert (problem.file, problem.line) == ("broken.py", 5)
    assert "ValueError: boom at import" in problem.cause
    assert "fix" in str(problem)


def test_cycle_and_duplicate_dag_id_point_at_the_dag(tmp_path):
    found = load_dags(write(tmp_path, {"cycle.py": CYCLE, "good.py": GOOD, "zz_duplicate.py": DUPLICATE}))
    [cycle] = found.file_problems("cycle.py")
    assert cycle.line == 5
    assert "cycle" in cycle.cause and "cyclic" in cycle.cause
    [duplicate] = found.file_problems("zz_duplicate.py")
    assert duplicate.line == 5
    assert "two files" in duplicate.cause and "good.py" in duplicate.fix
    assert found.dag_files["good"] == "good.py"


@pytest.mark.airflow_config({"core.dagbag_import_timeout": 0.2})
def test_a_file_parsing_longer_than_the_import_timeout_fails(tmp_path):
    found = load_dags(write(tmp_path, {"slow.py": SLOW}))
    [problem] = found.file_problems("slow.py")
    assert "dagbag_import_timeout" in problem.cause
    assert "into tasks" in problem.fix


def test_reads_at_parse_time_are_named_with_their_line(tmp_path):
    found = load_dags(
        write(tmp_path, {"reads.py": READS_AT_PARSE}),
        connections={"warehouse": "postgres://u:p@db:5432/w"},
    )
    assert found.import_errors == {}
    calls = [(a.line, a.call) for a in found.parse_time_access["reads.py"]]
    assert calls == [
        (6, "Variable.get('threshold')"),
        (7, "a lookup of connection 'warehouse'"),
        (8, "an XCom pull of 'count' from task 'count'"),
    ]
    problems = found.file_problems("reads.py")
    assert [p.line for p in problems] == [6, 7, 8]
    assert all("read it inside the task, or use a template" in p.fix for p in problems)


def test_a_parse_time_read_of_a_missing_variable_is_also_an_import_error(tmp_path):
    text = READS_AT_PARSE.replace(', default="5"', "").replace("host =", "# ").replace("last =", "# ")
    found = load_dags(write(tmp_path, {"reads.py": text}))
    problems = found.file_problems("reads.py")
    assert "Variable.get('threshold')" in problems[0].cause
    assert "does not import" in problems[1].cause


def test_dags_survive_the_serialization_round_trip(tmp_path):
    found = load_dags(write(tmp_path, {"good.py": GOOD, "decorated.py": DECORATED, "asset_dag.py": ASSET}))
    for dag_id in found.dags:
        assert found.dag_problems(dag_id) == []


def test_a_dag_the_serializer_refuses_fails_its_check(tmp_path):
    # A timetable class that no plugin registers: the DAG processor refuses to serialize the DAG.
    text = """
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.empty import EmptyOperator
        from airflow.timetables.trigger import CronTriggerTimetable

        class Nightly(CronTriggerTimetable):
            pass

        with DAG("unserializable", schedule=Nightly("0 0 * * *", timezone="UTC")):
            EmptyOperator(task_id="a")
    """
    found = load_dags(write(tmp_path, {"bad.py": text}))
    [problem] = found.dag_problems("unserializable")
    assert "cannot be serialized" in problem.cause and "not registered" in problem.cause
    assert problem.line == 9


def test_rules_report_each_convention_broken(tmp_path):
    found = load_dags(write(tmp_path, {"decorated.py": DECORATED, "good.py": GOOD}))
    causes = [p.cause for p in found.dag_problems("decorated", ["tags", "owner", "retries", "description"])]
    assert len(causes) == 4
    assert "no tags" in causes[0] and "default owner" in causes[1] and "no retries" in causes[2]
    assert [p.cause for p in found.dag_problems("good", ["tags", "no_catchup"])] == []


def test_a_missing_folder_is_refused_with_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        load_dags(tmp_path / "nope")


@pytest.mark.slow
def test_airflows_example_dags_load_as_dagbag_loads_them_and_all_survive_the_round_trip(airflow_dagbag):

    examples = Path(pytest.importorskip("airflow.example_dags").__file__).parent
    ours = load_dags(examples)
    theirs = airflow_dagbag(examples)
    assert sorted(ours.dags) == sorted(theirs.dags)
    # load_dags names files relative to the folder on every version; Airflow 3.0's DagBag by full path.
    their_errors = [os.path.relpath(p, examples) if os.path.isabs(p) else p for p in theirs.import_errors]
    assert sorted(ours.import_errors) == sorted(their_errors)
    assert ours.parse_time_access == {}
    problems = {dag_id: found for dag_id in ours.dags if (found := ours.dag_problems(dag_id))}
    assert problems == {}


@pytest.mark.airflow_config({"core.dag_ignore_file_syntax": "regexp"})
def test_the_ignore_file_syntax_setting_applies(tmp_path):
    found = load_dags(write(tmp_path, {"good.py": GOOD, "skip_me.py": BROKEN, ".airflowignore": "skip_.*\n"}))
    assert found.files == ["good.py"]
