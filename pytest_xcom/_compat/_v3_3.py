"""Airflow 3.3: as 3.2, but the frame encoder moved to the frames' mixin and the client builds its
request frames with ``_make_frame`` (which carries the trace context)."""

from __future__ import annotations

from typing import Any

from airflow.sdk.execution_time import comms as _comms

# Everything else is where 3.2 keeps it and behaves as 3.2's does.
from pytest_xcom._compat._v3_2 import (
    XCOM_ROUTES,
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseHook,
    Connection,
    CronDataIntervalTimetable,
    ParamValidationError,
    TaskDeferralError,
    TaskDeferralTimeout,
    TriggerRule,
    conf,
    config_parsers,
    dag_serializer,
    datetime_serializer,
    deserialize,
    frozen_clock_deserializers,
    get_relevant_map_indexes,
    import_string,
    is_arg_set,
    list_dag_files,
    manual_data_interval,
    new_dagbag,
    rendered_fields_as_shown,
    resume_kwargs,
    secrets_masker,
    serde_registry,
    serialize,
    server_upstream_map_indexes,
    stored_next_kwargs,
    timezone,
    trigger_kwargs,
)

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

# (class, attribute): the msgpack encoder both request and response frames use.
FRAME_ENCODER = (_comms._FrameMixin, "_encoder")


def make_request_frame(comms: Any, msg: Any) -> Any:
    """The request frame ``comms.send(msg)`` writes to the socket (with the trace carrier)."""
    return comms._make_frame(msg)


# -- whole deployments: triggered runs, assets, human in the loop -------------------------------------

from pytest_xcom._compat._v3_2 import hitl_response_result  # noqa: E402
