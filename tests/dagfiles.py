"""Loading DAG files in-process the way Airflow's DagBag does, without leaving anything behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_xcom.dags import load_dag_file


def load_dags(path: str | Path) -> dict[str, Any]:
    """Every DAG a file defines: module-level ones and those ``@dag`` functions register when called."""
    return load_dag_file(path)
