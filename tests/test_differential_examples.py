"""Airflow's shipped example DAGs, run by dag.test() on a metadata DB and by run_dag in memory.

Task states, the run's state and data interval, and every XCom must be identical, as judged by
pytest_xcom.compare.compare_outcomes (the comparer users get through compare_with_airflow): a value
that differs is compared once more against further dag.test() runs, and left out only if real
Airflow itself gives a different value each run (a clock, a random id, the order of a set).
All dag.test() runs share one subprocess (run_dag_tests), so the module costs one Airflow start.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagfiles import load_dags

import pytest_xcom
from pytest_xcom._compat import AIRFLOW_MINOR, RUN_CONF_REFUSAL
from pytest_xcom._dagtest import DagTestError, DagTestRequest, run_dag_tests
from pytest_xcom.compare import compare_outcomes, rerun_real

pytestmark = pytest.mark.slow

EXAMPLES = Path(pytest.importorskip("airflow.example_dags").__file__).parent
LOGICAL_DATE = datetime(2024, 1, 1, tzinfo=UTC)

# (file, dag_id, conf). Everything shipped in airflow/example_dags that dag.test() can run here.
ALL_CASES = [
    ("example_xcom.py", "example_xcom", None),
    ("example_xcomargs.py", "example_xcom_args", None),
    ("example_xcomargs.py", "example_xcom_args_with_operators", None),
    ("tutorial_taskflow_api.py", "tutorial_taskflow_api", None),
    ("tutorial_taskflow_templates.py", "tutorial_taskflow_templates", None),
    ("example_dynamic_task_mapping.py", "example_dynamic_task_mapping", None),
    ("example_dynamic_task_mapping.py", "example_task_group_mapping", None),
    ("example_dynamic_task_mapping.py", "example_task_mapping_second_order", None),
    (
        "example_dynamic_task_mapping_with_no_taskflow_operators.py",
        "example_dynamic_task_mapping_with_no_taskflow_operators",
        None,
    ),
    ("example_branch_labels.py", "example_branch_labels", None),
    ("example_branch_python_dop_operator_3.py", "example_branch_dop_operator_v3", None),
    ("example_nested_branch_dag.py", "example_nested_branch_dag", None),
    ("example_skip_dag.py", "example_skip_dag", None),
    ("example_task_group.py", "example_task_group", None),
    ("example_task_group_decorator.py", "example_task_group_decorator", None),
    ("example_setup_teardown.py", "example_setup_teardown", None),
    ("example_setup_teardown_taskflow.py", "example_setup_teardown_taskflow", None),
    ("example_complex.py", "example_complex", None),
    ("example_display_name.py", "example_display_name", None),
    ("example_failed_dag.py", "example_failed_dag", None),
    ("example_latest_only_with_trigger.py", "latest_only_with_trigger", None),
    ("example_params_trigger_ui.py", "example_params_trigger_ui", None),
    (
        "example_params_ui_tutorial.py",
        "example_params_ui_tutorial",
        {"required_field": "a value of 10 to 30 chars"},
    ),
    ("example_passing_params_via_test_command.py", "example_passing_params_via_test_command", None),
    (
        "example_passing_params_via_test_command.py",
        "example_passing_params_via_test_command",
        {"foo": "bar", "miff": "agg"},
    ),
    ("example_trigger_target_dag.py", "example_trigger_target_dag", {"message": "hello"}),
    ("example_trigger_target_dag.py", "example_trigger_target_dag", None),
    ("example_dag_decorator.py", "example_dag_decorator", None),
    ("tutorial_dag.py", "tutorial_dag", None),
    ("example_simplest_dag.py", "example_simplest_dag", None),
    ("example_time_delta_sensor_async.py", "example_time_delta_sensor_async", None),
    ("example_task_state_store_mapped.py", "example_task_state_store_mapped", None),
]

# Example DAGs newer than the oldest supported Airflow, by dag_id: the minor that first ships each.
SHIPPED_SINCE = {
    "example_task_group_mapping": (3, 2),
    "example_failed_dag": (3, 2),
    "example_task_state_store_mapped": (3, 3),
}
CASES = [case for case in ALL_CASES if AIRFLOW_MINOR >= SHIPPED_SINCE.get(case[1], (3, 0))]


# Not here: example_custom_weight and example_workday_timetable (dag.test() cannot serialize them
# without their plugins registered), the kubernetes examples (no kubernetes package), and those that
# need the internet or another DAG's asset events (example_retry_policy, tutorial_objectstorage,
# tutorial_taskflow_api_virtualenv, read_asset_event_from_classic).


def _case_id(case: tuple) -> str:
    return f"{case[1]}{'-conf' if case[2] else ''}"


def _request(case: tuple) -> DagTestRequest:
    file_name, dag_id, conf = case
    return DagTestRequest(EXAMPLES / file_name, dag_id, logical_date=LOGICAL_DATE, conf=conf)


@pytest.fixture(scope="module")
def real_outcomes() -> dict[str, object]:
    outcomes = run_dag_tests([_request(case) for case in CASES])
    return {_case_id(case): outcome for case, outcome in zip(CASES, outcomes, strict=True)}


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_run_dag_gives_what_dag_test_gives(case, real_outcomes):
    file_name, dag_id, conf = case
    real = real_outcomes[_case_id(case)]
    if isinstance(real, DagTestError):
        raise real
    ours = pytest_xcom.run_dag(load_dags(EXAMPLES / file_name)[dag_id], logical_date=LOGICAL_DATE, conf=conf)
    assert ours.run_id.startswith("manual__") and real.run_id.startswith("manual__")

    comparison = compare_outcomes(real, ours)
    if not comparison.identical:
        (others,) = rerun_real([_request(case)], run_dag_tests)
        comparison = compare_outcomes(
            real, ours, again=[o for o in others if not isinstance(o, DagTestError)]
        )
    assert comparison.identical, str(comparison)


def test_invalid_conf_is_refused_before_the_run_starts_as_dag_test_refuses_it():
    path = EXAMPLES / "example_params_ui_tutorial.py"
    (refused,) = run_dag_tests(
        [DagTestRequest(path, "example_params_ui_tutorial", logical_date=LOGICAL_DATE)]
    )
    assert isinstance(refused, DagTestError)
    assert f"{RUN_CONF_REFUSAL.__name__}: Invalid input for param required_field" in str(refused)
    with pytest.raises(RUN_CONF_REFUSAL, match="Invalid input for param required_field"):
        pytest_xcom.run_dag(load_dags(path)["example_params_ui_tutorial"], logical_date=LOGICAL_DATE)
