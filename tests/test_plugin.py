"""The plugin as pytest sees it: loading, fixture docs, start-up cost, clean-up after failures, reports.

A pytest session that imports Airflow runs in a subprocess: an in-process pytester run forgets the
modules it imported, and importing Airflow's ORM models a second time in one process fails.
"""

from __future__ import annotations

import inspect

import pytest

import pytest_xcom
from pytest_xcom import plugin

USES_FIXTURES = """
    def test_push_and_pull(xcom_store, task_context):
        task_context("upstream")["ti"].xcom_push("k", 1)
        assert task_context("downstream")["ti"].xcom_pull(task_ids="upstream", key="k") == 1
        xcom_store.assert_pushed("upstream", "k", 1)
"""


@pytest.fixture
def autoload(monkeypatch):
    """Turn plugin autoloading (setuptools entry points) on or off for the pytest runs of a test."""

    def set_autoload(enabled: bool) -> None:
        if enabled:
            monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
        else:
            monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")

    return set_autoload


@pytest.mark.slow
@pytest.mark.parametrize("enabled", [True, False], ids=["autoload", "no-autoload"])
def test_dash_p_loads_the_plugin(pytester, autoload, enabled):
    autoload(enabled)
    pytester.makepyfile(USES_FIXTURES)

    result = pytester.runpytest_subprocess("-p", "pytest_xcom")

    result.assert_outcomes(passed=1)


@pytest.mark.slow
def test_the_entry_point_loads_the_plugin_without_dash_p(pytester, autoload):
    autoload(True)
    pytester.makepyfile(USES_FIXTURES)

    result = pytester.runpytest_subprocess()

    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("enabled", "args"),
    [(False, []), (True, ["-p", "no:pytest_xcom"])],
    ids=["autoload-off-and-no-dash-p", "dash-p-no"],
)
def test_without_the_plugin_its_fixtures_are_missing(pytester, autoload, enabled, args):
    autoload(enabled)
    pytester.makepyfile(USES_FIXTURES)

    result = pytester.runpytest(*args)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'xcom_store' not found*"])


def test_fixtures_lists_each_fixture_with_its_docstring(pytester):
    pytester.makepyfile("def test_nothing(): pass")

    result = pytester.runpytest("-p", "pytest_xcom", "--fixtures", "-v")

    output = result.stdout.str()
    section = output.split("fixtures defined from pytest_xcom.plugin")[1].split("fixtures defined from")[0]
    names = [line.split(" -- ")[0] for line in section.splitlines() if " -- " in line]
    assert {"xcom_store", "xcom_comms", "task_context"} <= set(names)
    for name in names:
        doc = inspect.getdoc(getattr(plugin, name))
        assert doc, f"fixture {name} has no docstring"
        for line in doc.splitlines():
            assert line.strip() in section, f"{name}: {line!r} is not shown"
    assert "no docstring available" not in section


NO_AIRFLOW = """
    import sys

    def test_airflow_is_not_imported():
        assert "pytest_xcom.plugin" in sys.modules  # the plugin is loaded...
        assert sorted(m for m in sys.modules if m.split(".")[0] == "airflow") == []  # ...and cheap
"""


@pytest.mark.slow
@pytest.mark.parametrize("enabled", [True, False], ids=["autoload", "no-autoload"])
def test_a_session_that_uses_no_fixture_does_not_import_airflow(pytester, autoload, enabled):
    autoload(enabled)
    pytester.makepyfile(NO_AIRFLOW)

    result = pytester.runpytest_subprocess("-p", "pytest_xcom")

    result.assert_outcomes(passed=1)


@pytest.mark.slow
def test_a_session_that_uses_a_fixture_does_import_airflow(pytester):
    # The other side of the check above: it can fail.
    pytester.makepyfile(NO_AIRFLOW.replace("test_airflow_is_not_imported():", "test_with(task_context):"))

    result = pytester.runpytest_subprocess("-p", "pytest_xcom")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert ['airflow', *"])


@pytest.mark.slow
def test_a_failing_test_leaves_supervisor_comms_environ_and_context_as_they_were(pytester):
    pytester.makeconftest(
        """
        import os
        from airflow.sdk.execution_time import task_runner

        SENTINEL = object()
        task_runner.SUPERVISOR_COMMS = SENTINEL
        os.environ["PROBE_CHANGED"] = "before"
        os.environ["PROBE_DELETED"] = "before"
        """
    )
    pytester.makepyfile(
        """
        import os
        import pytest
        from airflow.sdk import get_current_context
        from airflow.sdk.execution_time import task_runner
        from conftest import SENTINEL

        def test_1_fails_midway(task_context):
            task_context("t")["ti"].xcom_push("k", 1)
            assert task_runner.SUPERVISOR_COMMS is not SENTINEL
            os.environ["PROBE_ADDED"] = "by the test"
            os.environ["PROBE_CHANGED"] = "by the test"
            del os.environ["PROBE_DELETED"]
            assert False, "failing on purpose"

        def test_2_sees_everything_restored():
            assert task_runner.SUPERVISOR_COMMS is SENTINEL
            assert "PROBE_ADDED" not in os.environ
            assert os.environ["PROBE_CHANGED"] == "before"
            assert os.environ["PROBE_DELETED"] == "before"
            with pytest.raises(RuntimeError):
                get_current_context()
        """
    )

    result = pytester.runpytest_subprocess("-p", "pytest_xcom", "-p", "no:randomly")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: failing on purpose*"])


@pytest.mark.slow
def test_a_failing_test_with_a_miss_gets_a_pytest_xcom_report_section(pytester):
    pytester.makepyfile(
        """
        def test_typo_in_key(task_context):
            task_context("push_task")["ti"].xcom_push("key", 1)
            ti = task_context("pull_task")["ti"]
            assert ti.xcom_pull(task_ids="push_task", key="kye") == 1

        def test_fails_without_a_miss(task_context):
            task_context("t")["ti"].xcom_push("k", 1)
            assert 1 == 2
        """
    )

    result = pytester.runpytest_subprocess("-p", "pytest_xcom", "-p", "no:randomly")

    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_typo_in_key _*",
            "*- pytest_xcom -*",
            "xcom_pull: no XCom 'kye' from 'push_task'; it pushed: 'key' (did you mean 'key'?)",
            "*_ test_fails_without_a_miss _*",
        ]
    )
    assert result.stdout.str().count("- pytest_xcom -") == 1


@pytest.mark.slow
def test_a_passing_test_with_a_miss_gets_no_section(pytester):
    pytester.makepyfile(
        """
        def test_pulls_nothing_on_purpose(task_context):
            assert task_context("t")["ti"].xcom_pull(task_ids="nobody", key="k") is None
        """
    )

    result = pytester.runpytest_subprocess("-p", "pytest_xcom", "-rA")

    result.assert_outcomes(passed=1)
    assert "- pytest_xcom -" not in result.stdout.str()
    assert "xcom_pull:" not in result.stdout.str()


@pytest.mark.slow
def test_an_exception_mentioning_provide_context_gets_the_hint(pytester):
    pytester.makepyfile(
        """
        from airflow.providers.standard.operators.python import PythonOperator

        def test_classic():
            PythonOperator(task_id="t", python_callable=print, provide_context=True)

        def test_other_failure():
            raise TypeError("something else")
        """
    )

    result = pytester.runpytest_subprocess("-p", "pytest_xcom", "-p", "no:randomly")

    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*- pytest_xcom -*", "`provide_context=True` was removed in Airflow 2*"])
    assert result.stdout.str().count("- pytest_xcom -") == 1


def test_public_names_are_sorted_and_importable():
    assert pytest_xcom.__all__ == sorted(pytest_xcom.__all__)
    for name in pytest_xcom.__all__:
        assert getattr(pytest_xcom, name) is not None
