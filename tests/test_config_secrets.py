"""xcom_variables / xcom_connections: suite-wide secrets from Airflow's local file formats (pytester)."""

from __future__ import annotations

import pytest

TESTS = """
    import pytest
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import BaseHook, Variable


    def read(**_):
        conn = BaseHook.get_connection("warehouse")
        return [Variable.get("bucket"), Variable.get("limits", deserialize_json=True), Variable.get("region"),
                conn.host, conn.port, conn.login]


    def test_suite_values(run_task):
        result = run_task(PythonOperator(task_id="read", python_callable=read))
        assert result.error is None
        assert result.return_value == ["s3://data", {"rows": 10}, "eu", "db.example.com", 5432, "etl"]


    def test_the_tests_own_values_win(run_task):
        result = run_task(PythonOperator(task_id="read", python_callable=read), variables={"bucket": "mine"},
                          connections={"warehouse": "postgres://me@localhost:1/x"})
        assert result.return_value[0] == "mine" and result.return_value[3:] == ["localhost", 1, "me"]


    def test_set_on_the_channel_wins(run_task, xcom_comms):
        xcom_comms.variables["region"] = "us"
        assert run_task(PythonOperator(task_id="read", python_callable=read)).return_value[2] == "us"
"""


@pytest.mark.slow
def test_variables_and_connections_from_json_env_and_yaml_files(pytester):
    pytester.makefile(".json", variables='{"bucket": "s3://data", "limits": {"rows": 10}}')
    pytester.makefile(".env", more="region=eu\n")
    pytester.makefile(
        ".yaml",
        connections="warehouse:\n  conn_type: postgres\n  host: db.example.com\n  port: 5432\n  login: etl\n",
    )
    pytester.makeini(
        "[pytest]\nxcom_variables =\n    variables.json\n    more.env\nxcom_connections = connections.yaml\n"
    )
    pytester.makepyfile(TESTS)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=3)


@pytest.mark.slow
def test_a_missing_file_is_a_usage_error_naming_it(pytester):
    pytester.makeini("[pytest]\nxcom_variables = nope.json\n")
    pytester.makepyfile("def test_uses(xcom_comms):\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.stdout.fnmatch_lines(["*xcom_variables: file*nope.json*does not exist*"])
    result.assert_outcomes(errors=1)
