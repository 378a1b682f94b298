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


@pytest.mark.slow
def test_the_example_secrets_files_work_as_the_readme_shows(pytester):
    from pathlib import Path

    examples = Path(__file__).resolve().parent.parent / "examples" / "secrets"
    for name in ("variables.json", "connections.yaml"):
        (pytester.path / name).write_text((examples / name).read_text())
    pytester.makeini("[pytest]\nxcom_variables = variables.json\nxcom_connections = connections.yaml\n")
    pytester.makepyfile(
        """
        from airflow.providers.standard.operators.bash import BashOperator

        def test_templates_read_them(render_task):
            op = BashOperator(
                task_id="t",
                bash_command="{{ var.value.sales_bucket }} {{ var.json.sales_limits.max_rows }} "
                "{{ conn.warehouse.host }}:{{ conn.warehouse.port }}/{{ conn.warehouse.schema }}",
            )
            expected = "s3://example-sales 1000 warehouse.internal:5432/analytics"
            assert render_task(op)["bash_command"] == expected
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=1)
