"""Airflow 3.2: as 3.3, but the frame encoder sits on the request frame and there is no _make_frame."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from airflow.sdk import BaseHook, Connection, CronDataIntervalTimetable, TriggerRule, timezone
from airflow.sdk.configuration import conf
from airflow.sdk.definitions._internal.types import is_arg_set
from airflow.sdk.exceptions import (
    AirflowSensorTimeout,
    AirflowSkipException,
    ParamValidationError,
    TaskDeferralError,
    TaskDeferralTimeout,
)
from airflow.sdk.execution_time import comms as _comms
from airflow.sdk.execution_time.task_mapping import get_relevant_map_indexes
from airflow.sdk.module_loading import import_string
from airflow.sdk.serde import deserialize, serialize

# Imported here, not where it is used: it defines pydantic models with datetime fields, and imported
# for the first time inside a test's `freeze_time` block those would be built on freezegun's FakeDatetime
# and fail. Everything Airflow imports lazily must be in before a test body (and its clock) starts.
from airflow.serialization.encoders import coerce_to_core_timetable

__all__ = [
    "FRAME_ENCODER",
    "XCOM_ROUTES",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "BaseHook",
    "Connection",
    "CronDataIntervalTimetable",
    "ParamValidationError",
    "TaskDeferralError",
    "TaskDeferralTimeout",
    "TriggerRule",
    "conf",
    "config_parsers",
    "dag_serializer",
    "datetime_serializer",
    "deserialize",
    "frozen_clock_deserializers",
    "get_relevant_map_indexes",
    "hitl_response_result",
    "import_string",
    "is_arg_set",
    "list_dag_files",
    "make_request_frame",
    "manual_data_interval",
    "new_dagbag",
    "rendered_fields_as_shown",
    "resume_kwargs",
    "secrets_masker",
    "serde_registry",
    "serialize",
    "server_upstream_map_indexes",
    "stored_next_kwargs",
    "timezone",
    "trigger_kwargs",
]

# The API server's XCom routes (execution_api/routes/xcoms.py) in the order it tries them: (name, methods,
# path). A request reaches the first that matches its method and path.
XCOM_ROUTES = (
    ("item", {"GET"}, "/{dag_id}/{run_id}/{task_id}/{key:path}/item/{offset}"),
    ("slice", {"GET"}, "/{dag_id}/{run_id}/{task_id}/{key:path}/slice"),
    ("xcom", {"GET", "HEAD", "POST", "DELETE"}, "/{dag_id}/{run_id}/{task_id}/{key:path}"),
)

# (class, attribute): the msgpack encoder both request and response frames use (the response frame
# subclasses the request frame).
FRAME_ENCODER = (_comms._RequestFrame, "req_encoder")


def make_request_frame(comms: Any, msg: Any) -> Any:
    """The request frame ``comms.send(msg)`` writes to the socket."""
    return _comms._RequestFrame(id=next(comms.id_counter), body=msg.model_dump())


def manual_data_interval(dag: Any, logical_date: Any) -> Any:
    return coerce_to_core_timetable(dag.timetable).infer_manual_data_interval(run_after=logical_date)


def secrets_masker() -> Any:
    from airflow.sdk._shared.secrets_masker import _secrets_masker

    return _secrets_masker()


def rendered_fields_as_shown(sent: dict[str, Any]) -> dict[str, Any]:
    """The Rendered Template view's values from a SetRenderedFields body, as the API server stores them.

    From 3.1 the task masks them itself (registered secrets and sensitive field names); the API server's
    second pass, by field name, finds nothing more.
    """
    return dict(sent)


def new_dagbag(folder: Any) -> Any:
    """An empty DagBag for ``folder``."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(folder, collect_dags=False, bundle_path=folder)


def list_dag_files(folder: Any, safe_mode: bool) -> list[str]:
    """The files the DAG processor parses in ``folder``."""
    from airflow.utils.file import list_py_file_paths

    return sorted(list_py_file_paths(str(folder), safe_mode=safe_mode))


def dag_serializer() -> Any:
    """The DAG serializer the DAG processor uses (``to_dict`` / ``from_dict``; 3.2 renamed it)."""
    from airflow.serialization.serialized_objects import DagSerialization

    return DagSerialization


def config_parsers() -> list[Any]:
    """Airflow's config parsers: the core one (scheduler, DAG processor) and the task SDK's (from 3.2)."""
    from airflow.configuration import conf as core_conf

    return [core_conf] if conf is core_conf else [core_conf, conf]


def stored_next_kwargs(kwargs: dict[str, Any]) -> Any:
    """next_kwargs the scheduler or triggerer writes to the task instance, as the API server hands them on.

    From 3.2 the column is plain JSON.
    """
    return dict(kwargs)


def serde_registry() -> dict[str, Any]:
    """serde's table of serializers by qualified type name."""
    from airflow.sdk import serde

    return serde._serializers  # type: ignore[return-value]


def datetime_serializer() -> Any:
    from airflow.sdk.serde.serializers import datetime

    return datetime


def server_upstream_map_indexes(task: Any, map_index: int, run_id: str) -> None:
    # From 3.2 the task SDK works out which map indexes of a mapped upstream to pull; the server sends none.
    return None


@contextlib.contextmanager
def frozen_clock_deserializers() -> Iterator[None]:
    # serde's datetime deserializer names the classes it rebuilds by string: freezegun does not matter.
    yield


def trigger_kwargs(data: Any) -> Any:
    """A deferring task's trigger kwargs as the triggerer rebuilds them from DeferTask (serde's form)."""
    return deserialize(data)


def resume_kwargs(event_payload: Any) -> Any:
    """The next_kwargs a task resumes with after its trigger fired, as dag.test() sets them."""
    return {"event": serialize(event_payload)}


# -- whole deployments: triggered runs, assets, human in the loop -------------------------------------


def hitl_response_result() -> Any:
    """The triggerer's answer to a HITL trigger's GetHITLDetailResponse and UpdateHITLDetail (its
    response union, not the task's, holds it)."""
    from airflow.jobs.triggerer_job_runner import HITLDetailResponseResult

    return HITLDetailResponseResult
