"""Stand-in tasks are built once per session, and nothing one test does to them reaches another."""

from __future__ import annotations


def test_what_a_test_sets_on_a_stand_in_does_not_reach_the_next_test(pytester):
    pytester.makepyfile(
        """
        def test_first(task_context):
            ctx = task_context("shared", params={"limit": 3})
            ctx["task"].retries = 7
            ctx["task"].owner = "someone"
            assert ctx["params"]["limit"] == 3

        def test_second(task_context):
            ctx = task_context("shared")
            assert ctx["task"].retries == 0
            assert ctx["task"].owner == "airflow"
            assert dict(ctx["params"]) == {}
        """
    )
    result = pytester.runpytest_subprocess("-p", "pytest_xcom", "-p", "no:randomly", timeout=300)
    result.assert_outcomes(passed=2)


def test_a_stand_in_lent_twice_in_a_test_comes_back_as_it_was(task_context):
    from pytest_xcom.context import StandIns, TaskContextFactory

    standins = StandIns()
    factory = TaskContextFactory(store=task_context.store, standins=standins)
    try:
        first = factory("t", params={"a": 1})["task"]
        first.retries = 2
        second = factory("t", params={"b": 2})["task"]
        assert second is first and dict(second.params) == {"b": 2}
    finally:
        factory.close()
    later = TaskContextFactory(store=task_context.store, standins=standins)
    try:
        again = later("t")["task"]
    finally:
        later.close()
    assert again is first and again.retries == 0 and dict(again.params) == {}


def test_the_host_name_is_looked_up_once_and_follows_hostname_callable(run_task, airflow_config):
    import getpass

    from airflow.sdk import DAG, task

    from pytest_xcom._compat import task_runner

    with DAG("host_dag", schedule=None):

        @task
        def host(ti=None) -> str:
            return ti.hostname

        called = host()
    assert run_task(called).return_value == task_runner.get_hostname()
    airflow_config["core.hostname_callable"] = "getpass.getuser"
    assert run_task(called).return_value == getpass.getuser()
