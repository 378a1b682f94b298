"""Airflow 3.2: as 3.3, but the frame encoder sits on the request frame and there is no _make_frame."""

from __future__ import annotations

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
from airflow.sdk.execution_time.task_mapping import get_relevant_map_indexes
from airflow.sdk.module_loading import import_string
from airflow.sdk.serde import deserialize, serialize

# Imported here, not where it is used: it defines pydantic models with datetime fields, and imported
# for the first time inside a test's `freeze_time` block those would be built on freezegun's FakeDatetime
# and fail. Everything Airflow imports lazily must be in before a test body (and its clock) starts.
from airflow.serialization.encoders import coerce_to_core_timetable

from pytest_xcom._compat._shared import (
    FRAME_ENCODER,
    XCOM_ROUTES,
    fast_triggered_in_mapped_group,
    frozen_clock_deserializers,
    make_request_frame,
    rendered_fields_as_shown,
    secrets_masker,
    worker_log_config,
)

# What create_dagrun (and so dag.test()) raises for a conf the DAG's params refuse: 3.2 validates the
# serialized DAG's params, which raise a plain ValueError ("Invalid input for param ...").
RUN_CONF_REFUSAL = ValueError

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


TEARDOWN_WAITS_FOR_SCOPE = True

# DagRun.fetch_task_instances orders a run's task instances by (task_id, map_index).
TASK_INSTANCES_IN_ROW_ORDER = False

# What ti_skip_downstream leaves alone: an instance already running or finished (Airflow #59378).
SKIP_DOWNSTREAM_SPARES = frozenset({"running", "success", "failed"})


def retry_backoff_multiplier(task: Any) -> float:
    """The base of ``next_retry_datetime``'s exponential backoff (1: none): from 3.2 the task's number."""
    return float(task.retry_exponential_backoff or 1.0)


def skip_decision_map_index(parent: Any, map_index: int) -> int:
    """The map index at which NotPreviouslySkippedDep looks for a branching parent's decision.

    From 3.2 an unmapped parent's is read at -1, where it wrote it, whatever the child's map index.
    """
    return map_index if parent.is_mapped else -1


def manual_data_interval(dag: Any, logical_date: Any) -> Any:
    return _core_timetable(dag.timetable).infer_manual_data_interval(run_after=logical_date)


# A DAG's timetable, converted to the scheduler's class, for the DAGs a session runs (converting costs
# a tenth of a task context). By the timetable's id, with the timetable kept so the id stays its own.
_CORE_TIMETABLES: dict[int, tuple[Any, Any]] = {}


def _core_timetable(timetable: Any) -> Any:
    cached = _CORE_TIMETABLES.get(id(timetable))
    if cached is not None and cached[0] is timetable:
        return cached[1]
    if len(_CORE_TIMETABLES) >= 256:
        _CORE_TIMETABLES.clear()
    core = coerce_to_core_timetable(timetable)
    _CORE_TIMETABLES[id(timetable)] = (timetable, core)
    return core


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
