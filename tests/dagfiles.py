"""Loading DAG files in-process the way Airflow's DagBag does, without leaving anything behind."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any


def load_dags(path: str | Path) -> dict[str, Any]:
    """Every DAG a file defines: module-level ones and those ``@dag`` functions register when called."""
    from airflow.sdk import DAG
    from airflow.sdk.definitions._internal.contextmanager import DagContext

    path = Path(path)
    name = f"pytest_xcom_dagfile_{path.stem}_{abs(hash(str(path)))}"
    saved = (set(DagContext.autoregistered_dags), DagContext.current_autoregister_module_name)
    DagContext.autoregistered_dags.clear()
    DagContext.current_autoregister_module_name = name
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the autoregistration looks the module up by name
    try:
        spec.loader.exec_module(module)
        dags = {d.dag_id: d for d in vars(module).values() if isinstance(d, DAG)}
        dags.update({d.dag_id: d for d, _ in DagContext.autoregistered_dags})
    finally:
        del sys.modules[name]
        DagContext.autoregistered_dags.clear()
        DagContext.autoregistered_dags.update(saved[0])
        DagContext.current_autoregister_module_name = saved[1]
    return dags
