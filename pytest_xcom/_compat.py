"""The one place that knows which Airflow this is and where its internals live.

Everything pytest_xcom touches inside Airflow is imported here, so that a new Airflow release means
reading this file, not the whole package. Importing this module imports Airflow (about a second), so the
rest of the package imports it lazily, from inside the functions that need it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow import __version__ as AIRFLOW_VERSION
from airflow.sdk import timezone
from airflow.sdk.api.datamodels._generated import (
    DagRun,
    DagRunState,
    DagRunType,
    TaskInstanceState,
    TIRunContext,
)
from airflow.sdk.bases.operator import BaseOperator
from airflow.sdk.definitions._internal.types import is_arg_set
from airflow.sdk.definitions.dag import DAG
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType
from airflow.sdk.execution_time import comms as _comms
from airflow.sdk.execution_time import task_runner
from airflow.sdk.execution_time.comms import CommsDecoder, ErrorResponse
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
from airflow.sdk.execution_time.xcom import XCom
from packaging.version import Version

__all__ = [
    "AIRFLOW_VERSION",
    "DAG",
    "AirflowRuntimeError",
    "BaseOperator",
    "CommsDecoder",
    "DagRun",
    "DagRunState",
    "DagRunType",
    "ErrorResponse",
    "ErrorType",
    "ParamsDict",
    "RuntimeTaskInstance",
    "TIRunContext",
    "TaskInstanceState",
    "XCom",
    "comms_messages",
    "get_supervisor_comms",
    "is_arg_set",
    "manual_data_interval",
    "manual_run_id",
    "max_map_length",
    "request_decoder",
    "response_frame",
    "set_supervisor_comms",
    "supervisor_body_decoder",
    "timezone",
]

if Version(AIRFLOW_VERSION).release[:2] < (3, 3):  # pragma: no cover - guarded by the dependency pin
    raise ImportError(
        f"pytest_xcom needs apache-airflow >= 3.3 (found {AIRFLOW_VERSION}): the comms channel it fakes "
        "changed shape in every 3.x release. Upgrade Airflow, or pin an older pytest_xcom."
    )

# The message classes of the task <-> supervisor protocol, by name (SetXCom, GetXCom, TaskState, ...).
comms_messages = _comms

_NO_COMMS = object()


def get_supervisor_comms() -> Any:
    """The task SDK's channel to its supervisor, or a sentinel when none is installed."""
    return getattr(task_runner, "SUPERVISOR_COMMS", _NO_COMMS)


def set_supervisor_comms(comms: Any) -> None:
    """Install ``comms`` as the task SDK's channel; the sentinel from get_supervisor_comms removes it.

    Airflow's callers read the module global at call time, so swapping the attribute is enough.
    """
    if comms is _NO_COMMS:
        if hasattr(task_runner, "SUPERVISOR_COMMS"):
            del task_runner.SUPERVISOR_COMMS
    else:
        task_runner.SUPERVISOR_COMMS = comms


def request_decoder() -> Any:
    """The supervisor's decoder of request frames (msgpack)."""
    import msgspec

    return msgspec.msgpack.Decoder(_comms._RequestFrame)


def supervisor_body_decoder() -> Any:
    """The supervisor's validator of request bodies: the ToSupervisor union."""
    from pydantic import TypeAdapter

    return TypeAdapter(_comms.ToSupervisor)


def response_frame(request_id: int, body: dict | None = None, error: dict | None = None) -> Any:
    return _comms._ResponseFrame(id=request_id, body=body, error=error)


def manual_run_id(run_after: datetime) -> str:
    """The run_id of a manually triggered run, as the API server and dag.test() make it.

    With a logical date Airflow uses ``manual__<run_after>``; without one it appends a random suffix,
    which we do not need because a test's runs are told apart by their store.
    """
    return f"{DagRunType.MANUAL.value}__{run_after.isoformat()}"


def manual_data_interval(dag: Any, logical_date: datetime) -> tuple[datetime, datetime]:
    """The data interval Airflow infers for a manual run of ``dag`` at ``logical_date``."""
    from airflow.serialization.encoders import coerce_to_core_timetable

    interval = coerce_to_core_timetable(dag.timetable).infer_manual_data_interval(run_after=logical_date)
    return interval.start, interval.end


def max_map_length() -> int:
    """``[core] max_map_length``: the API server refuses to map more than this many items."""
    from airflow.sdk.configuration import conf

    return conf.getint("core", "max_map_length", fallback=1024)
