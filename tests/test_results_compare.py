"""``python -m pytest_xcom.compare`` on a file that defines several DAGs compares each of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_xcom.compare import _dag_ids, main

EXAMPLE = Path(__file__).parents[1] / "examples" / "xcom_push_pull.py"


def test_each_dag_of_a_file_unless_one_is_named():
    assert _dag_ids(EXAMPLE, None) == ["xcom_push_pull", "xcom_taskflow"]
    assert _dag_ids(EXAMPLE, "xcom_taskflow") == ["xcom_taskflow"]
    assert _dag_ids(EXAMPLE.with_name("missing.py"), None) == [None]


@pytest.mark.slow
def test_the_command_compares_every_dag_of_the_file(capsys):
    assert main([str(EXAMPLE), "--logical-date", "2024-01-01"]) == 0

    out = capsys.readouterr().out
    assert "xcom_push_pull: dag.test() and run_dag agree" in out
    assert "xcom_taskflow: dag.test() and run_dag agree" in out
