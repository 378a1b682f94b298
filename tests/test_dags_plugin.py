"""--xcom-dags / xcom_dags: the DAG checks as collected pytest items (pytester, in subprocesses)."""

from __future__ import annotations

import textwrap

import pytest

GOOD = """
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.empty import EmptyOperator

    with DAG("good", schedule=None, tags=["team"], default_args={"retries": 2}):
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
"""

UNTAGGED = """
    from airflow.sdk import dag, task

    @dag(schedule=None)
    def untagged():
        @task
        def one():
            return 1

        one()

    untagged()
"""

BROKEN = """
    from airflow.sdk import DAG

    value = 1
    raise ValueError("boom at import")
"""

READS = """
    from airflow.sdk import DAG, Variable
    from airflow.providers.standard.operators.empty import EmptyOperator

    bucket = Variable.get("bucket")

    with DAG("reads", schedule=None, tags=["team"], default_args={"retries": 1}):
        EmptyOperator(task_id="a")
"""


def make_dags(pytester, **files):
    folder = pytester.mkdir("dags")
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


@pytest.mark.slow
def test_one_item_per_file_and_per_dag(pytester):
    make_dags(pytester, **{"good.py": GOOD, "untagged.py": UNTAGGED, "broken.py": BROKEN})
    result = pytester.runpytest_subprocess("--xcom-dags", "dags", "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "dags/broken.py::parse",
            "dags/good.py::parse",
            "dags/good.py::good",
            "dags/untagged.py::parse",
            "dags/untagged.py::untagged",
        ]
    )


@pytest.mark.slow
def test_a_broken_file_fails_with_file_line_cause_and_fix(pytester):
    make_dags(pytester, **{"good.py": GOOD, "broken.py": BROKEN})
    result = pytester.runpytest_subprocess("--xcom-dags", "dags", "-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["*dags/broken.py:5: the file does not import: ValueError: boom at import*", "*fix: fix the error*"]
    )
    result.stdout.fnmatch_lines(["FAILED dags/broken.py::parse*"])


@pytest.mark.slow
def test_ini_folder_and_rules_with_xdist(pytester):
    make_dags(pytester, **{"good.py": GOOD, "untagged.py": UNTAGGED})
    pytester.makeini("[pytest]\nxcom_dags = dags\nxcom_dag_rules = tags retries\n")
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*dags/untagged.py:5: DAG 'untagged' has no tags (rule 'tags')*"])
    result.stdout.fnmatch_lines(["*DAG 'untagged': tasks ?'one'? have no retries*"])


@pytest.mark.slow
def test_an_unknown_rule_is_a_usage_error(pytester):
    make_dags(pytester, **{"good.py": GOOD})
    pytester.makeini("[pytest]\nxcom_dags = dags\nxcom_dag_rules = tagz\n")
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown rule 'tagz' (did you mean 'tags'?)*"])


@pytest.mark.slow
def test_a_parse_time_variable_read_fails_even_when_the_suite_has_the_variable(pytester):
    make_dags(pytester, **{"reads.py": READS})
    pytester.makefile(".json", variables='{"bucket": "s3://b"}')
    pytester.makeini("[pytest]\nxcom_dags = dags\nxcom_variables = variables.json\n")
    pytester.makepyfile(
        test_folder="""
        def test_dag_folder_fixture(dag_folder):
            assert sorted(dag_folder.dags) == ["reads"]
            assert dag_folder.import_errors == {}
            assert [a.call for a in dag_folder.parse_time_access["reads.py"]] == ["Variable.get('bucket')"]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*dags/reads.py:5: Variable.get('bucket') while the file is parsed*",
            "*fix: read it inside the task, or use a template*",
        ]
    )


@pytest.mark.slow
def test_without_a_dag_folder_nothing_is_collected_and_airflow_is_not_imported(pytester):
    make_dags(pytester, **{"broken.py": BROKEN})
    pytester.makepyfile(
        """
        import sys

        def test_airflow_not_imported():
            assert "airflow" not in sys.modules
        """
    )
    result = pytester.runpytest_subprocess("-p", "pytest_xcom")
    result.assert_outcomes(passed=1)


@pytest.mark.slow
def test_a_missing_folder_is_a_usage_error(pytester):
    result = pytester.runpytest_subprocess("--xcom-dags", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*DAG folder*nope*does not exist*"])
