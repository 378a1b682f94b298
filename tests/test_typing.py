"""A user's typed test module passes ``mypy --strict`` against the public API, fixtures included.

``typing_user/typed_usage.py`` uses every fixture and public name with the annotations a user would
write, and ``assert_type`` on what the API returns, which fails where a name or result is typed Any.
mypy follows pytest_xcom (from this checkout) and Airflow silently, as it does for installed packages:
only the user's file is judged.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pytest_xcom

ROOT = Path(__file__).parents[1]
USER_FILE = Path(__file__).parent / "typing_user" / "typed_usage.py"


def test_the_package_is_marked_typed():
    assert (ROOT / "pytest_xcom" / "py.typed").is_file()


def test_the_user_file_uses_every_public_name_and_fixture():
    source = USER_FILE.read_text()
    fixtures = ["xcom_store", "xcom_comms", "task_context", "run_task", "run_dag", "render_task"]
    fixtures += ["airflow_config", "dag_folder"]
    assert [f for f in fixtures if f"{f}: " not in source] == []
    assert [name for name in pytest_xcom.__all__ if name not in source] == []


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None, reason="mypy is not installed (the test extra has it)"
)
def test_a_typed_user_test_module_passes_mypy_strict(tmp_path):
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    command = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent"]
    command += ["--cache-dir", str(tmp_path / "mypy_cache"), str(USER_FILE)]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
