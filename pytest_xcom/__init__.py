"""pytest_xcom: test Airflow XComs, task contexts and params in memory, through Airflow's own code.

Load it with ``pytest -p pytest_xcom`` (or let the ``pytest11`` entry point do it). Importing this package
is cheap: Airflow is imported only when a fixture or one of the names below is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "AirflowConfig",
    "AssetEventRecord",
    "Comparison",
    "DagCallbackRun",
    "DagFolder",
    "DagRunResult",
    "DagRunner",
    "FollowError",
    "InMemorySupervisorComms",
    "InMemoryTaskInstance",
    "LogLine",
    "RenderedFields",
    "RunDeadline",
    "TaskContextFactory",
    "TaskLogs",
    "TaskRenderer",
    "TaskRunResult",
    "TaskRunner",
    "TriggerWaitError",
    "TriggeredRun",
    "UnreadableXCom",
    "XComRecord",
    "XComStore",
    "assert_roundtrips",
    "compare_with_airflow",
    "load_dags",
    "render_task",
    "roundtrip",
    "run_dag",
    "run_task",
]

# Registering the package as a plugin (by -p or the entry point) registers the hooks and fixtures.
pytest_plugins = ["pytest_xcom.plugin"]

_LAZY = {
    "AirflowConfig": "pytest_xcom.config",
    "DagFolder": "pytest_xcom.dags",
    "load_dags": "pytest_xcom.dags",
    "RenderedFields": "pytest_xcom.render",
    "TaskRenderer": "pytest_xcom.render",
    "render_task": "pytest_xcom.render",
    "Comparison": "pytest_xcom.compare",
    "compare_with_airflow": "pytest_xcom.compare",
    "assert_roundtrips": "pytest_xcom.roundtrips",
    "roundtrip": "pytest_xcom.roundtrips",
    "DagRunResult": "pytest_xcom.runner",
    "DagRunner": "pytest_xcom.runner",
    "TaskRunResult": "pytest_xcom.runner",
    "TaskRunner": "pytest_xcom.runner",
    "run_dag": "pytest_xcom.runner",
    "run_task": "pytest_xcom.runner",
    "InMemorySupervisorComms": "pytest_xcom.comms",
    "InMemoryTaskInstance": "pytest_xcom.context",
    "TaskContextFactory": "pytest_xcom.context",
    "LogLine": "pytest_xcom.logs",
    "TaskLogs": "pytest_xcom.logs",
    "UnreadableXCom": "pytest_xcom.store",
    "XComRecord": "pytest_xcom.store",
    "XComStore": "pytest_xcom.store",
    "AssetEventRecord": "pytest_xcom.assets",
    "TriggeredRun": "pytest_xcom.deployment",
    "DagCallbackRun": "pytest_xcom.runner.callbacks",
    "RunDeadline": "pytest_xcom.runner.deadlines",
    "FollowError": "pytest_xcom.runner.following",
    "TriggerWaitError": "pytest_xcom.triggerer",
}

if TYPE_CHECKING:
    from pytest_xcom.assets import AssetEventRecord
    from pytest_xcom.comms import InMemorySupervisorComms
    from pytest_xcom.compare import Comparison, compare_with_airflow
    from pytest_xcom.config import AirflowConfig
    from pytest_xcom.context import InMemoryTaskInstance, TaskContextFactory
    from pytest_xcom.dags import DagFolder, load_dags
    from pytest_xcom.deployment import TriggeredRun
    from pytest_xcom.logs import LogLine, TaskLogs
    from pytest_xcom.render import RenderedFields, TaskRenderer, render_task
    from pytest_xcom.roundtrips import assert_roundtrips, roundtrip
    from pytest_xcom.runner import DagRunner, DagRunResult, TaskRunner, TaskRunResult, run_dag, run_task
    from pytest_xcom.runner.callbacks import DagCallbackRun
    from pytest_xcom.runner.deadlines import RunDeadline
    from pytest_xcom.runner.following import FollowError
    from pytest_xcom.store import UnreadableXCom, XComRecord, XComStore
    from pytest_xcom.triggerer import TriggerWaitError


# No __dir__ listing the lazy names: pytest reads every name dir() gives of a plugin module (looking
# for fixtures), which would import Airflow in every session that merely loads the plugin.
# Hidden from type checkers, which would otherwise type every name, even a misspelt one, as Any.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name in _LAZY:
            value = getattr(importlib.import_module(_LAZY[name]), name)
            globals()[name] = value
            return value
        raise AttributeError(f"module 'pytest_xcom' has no attribute {name!r}")
