"""``provide_context=True`` in a DAG built at import gets the same hint as in a test."""

from __future__ import annotations

import textwrap

import pytest

from pytest_xcom import _msgs
from pytest_xcom.dags import load_dags

MODULE_LEVEL_DAG = """
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG

    with DAG("classic", schedule=None):
        PythonOperator(task_id="t", python_callable=print, provide_context=True)
"""


def test_a_dag_file_with_provide_context_gets_the_hint_as_its_fix(tmp_path):
    (tmp_path / "classic.py").write_text(textwrap.dedent(MODULE_LEVEL_DAG))

    (problem,) = load_dags(tmp_path).file_problems("classic.py")

    assert "Invalid arguments were passed to PythonOperator" in problem.cause
    assert problem.fix == _msgs.PROVIDE_CONTEXT


def test_other_import_errors_keep_their_own_fix(tmp_path):
    (tmp_path / "broken.py").write_text("from airflow.sdk import DAG\n\nraise TypeError('no dag')\n")

    (problem,) = load_dags(tmp_path).file_problems("broken.py")

    assert problem.fix != _msgs.PROVIDE_CONTEXT


@pytest.mark.slow
def test_a_test_module_that_fails_to_import_gets_the_hint(pytester):
    test_module = textwrap.dedent(MODULE_LEVEL_DAG) + "\n\ndef test_never_runs():\n    pass\n"
    pytester.makepyfile(test_classic=test_module)
    pytester.makepyfile(test_other="raise TypeError('something else')\n")

    result = pytester.runpytest_subprocess("-p", "pytest_xcom", "-p", "no:randomly")

    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        ["*ERROR collecting test_classic.py*", "*- pytest_xcom -*", "`provide_context=True` was removed*"]
    )
    assert result.stdout.str().count("- pytest_xcom -") == 1


@pytest.mark.slow
def test_xcom_dags_reports_the_hint_with_the_files_line(pytester):
    pytester.mkdir("dags")
    (pytester.path / "dags" / "classic.py").write_text(textwrap.dedent(MODULE_LEVEL_DAG))

    result = pytester.runpytest_subprocess("-p", "pytest_xcom", "-p", "no:randomly", "--xcom-dags", "dags")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["dags/classic.py:*: the file does not import: *", "*fix: `provide_context=True`*"]
    )
