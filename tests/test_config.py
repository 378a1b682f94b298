"""airflow_config: Airflow config set for one test, in every config object Airflow reads, then restored."""

from __future__ import annotations

import pytest
from airflow.configuration import conf

from pytest_xcom import AirflowConfig, _compat

KEY = "core.max_map_length"


def default_max_map_length():
    return conf.getint("core", "max_map_length")


def test_a_value_reaches_the_scheduler_side_and_the_task_sdk_config_and_is_restored():
    before = default_max_map_length()
    config = AirflowConfig()
    config[KEY] = before + 1
    try:
        assert conf.getint("core", "max_map_length") == before + 1
        assert _compat.max_map_length() == before + 1  # read through the task SDK's own config
        assert config[KEY] == str(before + 1)
    finally:
        config.restore()
    assert default_max_map_length() == before
    assert _compat.max_map_length() == before


def test_an_environment_variable_is_overridden_for_the_test_and_put_back(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "9")
    assert conf.getint("core", "max_map_length") == 9
    config = AirflowConfig()
    config.set(KEY, 3)
    try:
        assert conf.getint("core", "max_map_length") == 3
    finally:
        config.restore()
    assert conf.getint("core", "max_map_length") == 9


def test_none_falls_back_to_airflows_default():
    config = AirflowConfig()
    config.set("core.dagbag_import_timeout", 1)
    config.set("core.dagbag_import_timeout", None)
    try:
        assert conf.getfloat("core", "dagbag_import_timeout") == 30.0
    finally:
        config.restore()


def test_a_key_without_a_section_is_refused():
    with pytest.raises(KeyError, match=r"'section\.key'"):
        AirflowConfig().set("max_map_length", 1)


def test_the_fixture_sets_config_for_the_test(airflow_config):
    airflow_config.update({KEY: 5, "core.dag_discovery_safe_mode": False})
    assert conf.getint("core", "max_map_length") == 5
    assert conf.getboolean("core", "dag_discovery_safe_mode") is False


@pytest.mark.airflow_config({KEY: 4})
def test_the_marker_sets_config_for_the_test():
    assert conf.getint("core", "max_map_length") == 4


@pytest.mark.airflow_config({KEY: 6, "core.dagbag_import_timeout": 12})
class TestClassMarker:
    @pytest.mark.airflow_config({KEY: 7})
    def test_the_closest_marker_wins(self):
        assert conf.getint("core", "max_map_length") == 7
        assert conf.getfloat("core", "dagbag_import_timeout") == 12


@pytest.mark.slow
def test_config_does_not_leak_into_the_next_test_even_when_a_test_fails(pytester):
    pytester.makepyfile(
        """
        import pytest
        from airflow.configuration import conf

        @pytest.mark.airflow_config({"core.max_map_length": 2})
        def test_1_marker_then_fails():
            assert conf.getint("core", "max_map_length") == 2
            raise RuntimeError("fails midway")

        def test_2_fixture_then_fails(airflow_config):
            airflow_config["core.max_map_length"] = 3
            raise RuntimeError("fails midway")

        def test_3_sees_the_default():
            assert conf.getint("core", "max_map_length") == 1024
        """
    )
    result = pytester.runpytest_subprocess("-p", "pytest_xcom", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=2)
