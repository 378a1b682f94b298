"""``[core] load_examples`` while a task runs: off (Airflow would add its example plugins, whose
listener logs every task), unless the environment or the test set it; put back after the task."""

from __future__ import annotations

import pytest
from airflow.sdk import DAG, task

from pytest_xcom import _compat

ENV = "AIRFLOW__CORE__LOAD_EXAMPLES"


def _as_the_task_runner_reads_it() -> bool:
    return _compat.config_parsers()[-1].getboolean("core", "load_examples")


@pytest.fixture
def seen_by_task(run_task):
    with DAG("load_examples_seen", schedule=None):

        @task
        def read() -> bool:
            return _as_the_task_runner_reads_it()

        reader = read()

    def run() -> bool:
        result = run_task(reader)
        assert result.state == "success", result.error
        return result.return_value

    return run


def test_off_while_a_task_runs_and_back_after(seen_by_task, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert _as_the_task_runner_reads_it() is True  # Airflow's default
    assert seen_by_task() is False
    assert _as_the_task_runner_reads_it() is True


def test_the_environment_decides_when_it_sets_it(seen_by_task, monkeypatch):
    monkeypatch.setenv(ENV, "True")
    assert seen_by_task() is True


def test_the_test_decides_when_it_sets_it(seen_by_task, airflow_config, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    airflow_config["core.load_examples"] = True
    assert seen_by_task() is True
