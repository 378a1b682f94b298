"""Airflow 3.1: serde (without a UUID serializer) still in airflow.serialization, the frame encoder on
the request frame, the API server working out mapped upstreams' map indexes for the worker, deferral
kwargs in BaseSerialization's form, ParamValidationError and AirflowSkipException in airflow.exceptions,
and no is_arg_set."""

from __future__ import annotations

from typing import Any

from airflow.configuration import conf
from airflow.exceptions import (
    AirflowSensorTimeout,
    AirflowSkipException,
    ParamValidationError,
    TaskDeferralError,
    TaskDeferralTimeout,
)
from airflow.sdk import BaseHook, Connection, TriggerRule, timezone
from airflow.sdk.module_loading import import_string
from airflow.serialization.serde import deserialize, serialize

# BaseSerialization's module is imported now although only the deferral kwargs use it: it defines
# pydantic models with datetime fields, and the task SDK imports it lazily (BaseOperator's constructor).
# Imported for the first time inside a test's `freeze_time` block, they would be built on freezegun's
# FakeDatetime and fail.
from airflow.serialization.serialized_objects import BaseSerialization  # noqa: F401
from airflow.timetables.interval import CronDataIntervalTimetable

from pytest_xcom._compat._server_mapping import get_relevant_map_indexes, server_upstream_map_indexes
from pytest_xcom._compat._shared import (
    FRAME_ENCODER,
    SKIP_DOWNSTREAM_SPARES,
    TASK_INSTANCES_IN_ROW_ORDER,
    TEARDOWN_WAITS_FOR_SCOPE,
    XCOM_ROUTES,
    config_parsers,
    dag_serializer,
    datetime_serializer,
    fast_triggered_in_mapped_group,
    frozen_clock_deserializers,
    is_arg_set,
    list_dag_files,
    make_request_frame,
    manual_data_interval,
    new_dagbag,
    rendered_fields_as_shown,
    resume_kwargs,
    retry_backoff_multiplier,
    secrets_masker,
    serde_registry,
    skip_decision_map_index,
    stored_next_kwargs,
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


# -- whole deployments: triggered runs, assets, human in the loop -------------------------------------


def hitl_response_result() -> Any:
    """The triggerer's answer to a HITL trigger's GetHITLDetailResponse and UpdateHITLDetail (its
    response union, not the task's, holds it)."""
    from airflow.jobs.triggerer_job_runner import HITLDetailResponseResult

    return HITLDetailResponseResult
