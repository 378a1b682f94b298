"""Airflow 3.3: as 3.2, but the frame encoder moved to the frames' mixin and the client builds its
request frames with ``_make_frame`` (which carries the trace context)."""

from __future__ import annotations

from typing import Any

from airflow.sdk.execution_time import comms as _comms

# Everything else is where 3.2 keeps it and behaves as 3.2's does.
from pytest_xcom._compat._v3_2 import (
    SKIP_DOWNSTREAM_SPARES,
    TASK_INSTANCES_IN_ROW_ORDER,
    TEARDOWN_WAITS_FOR_SCOPE,
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
    hitl_response_result,
    import_string,
    is_arg_set,
    list_dag_files,
    manual_data_interval,
    new_dagbag,
    rendered_fields_as_shown,
    resume_kwargs,
    retry_backoff_multiplier,
    secrets_masker,
    serde_registry,
    serialize,
    server_upstream_map_indexes,
    skip_decision_map_index,
    stored_next_kwargs,
    timezone,
    trigger_kwargs,
    worker_log_config,
)

# What create_dagrun (and so dag.test()) raises for a conf the DAG's params refuse.
RUN_CONF_REFUSAL = ParamValidationError

# The API server's XCom route stores a None value (its body parameter defaults to None).
XCOM_NONE_REFUSED = False

__all__ = [
    "FRAME_ENCODER",
    "RUN_CONF_REFUSAL",
    "SKIP_DOWNSTREAM_SPARES",
    "TASK_INSTANCES_IN_ROW_ORDER",
    "TEARDOWN_WAITS_FOR_SCOPE",
    "XCOM_NONE_REFUSED",
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
    "fast_triggered_in_mapped_group",
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
    "retry_backoff_multiplier",
    "secrets_masker",
    "serde_registry",
    "serialize",
    "server_upstream_map_indexes",
    "skip_decision_map_index",
    "stored_next_kwargs",
    "timezone",
    "trigger_kwargs",
    "worker_log_config",
]

# (class, attribute): the msgpack encoder both request and response frames use.
FRAME_ENCODER = (_comms._FrameMixin, "_encoder")


def make_request_frame(comms: Any, msg: Any) -> Any:
    """The request frame ``comms.send(msg)`` writes to the socket (with the trace carrier)."""
    return comms._make_frame(msg)


def fast_triggered_in_mapped_group(task: Any, map_index: int) -> bool:
    """Whether instance ``map_index`` of ``task`` depends on every instance of an upstream that its mapped
    group does not expand over (TriggerRuleDep's ``_get_relevant_upstream_map_indexes``).

    From 3.3 only the unexpanded instance of a task anywhere inside a mapped group does, and
    none_failed_min_one_success joins the rules one upstream satisfies (Airflow #50210, #39801).
    """
    return (
        map_index < 0
        and task.get_closest_mapped_task_group() is not None
        and task.trigger_rule in ("one_success", "one_failed", "one_done", "none_failed_min_one_success")
    )
