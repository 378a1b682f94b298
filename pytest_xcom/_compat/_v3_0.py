"""Airflow 3.0: as 3.1, and TriggerRule, timezone, import_string, BaseHook and the secrets masker live
elsewhere, all_done_min_one_success does not exist, the SDK Connection has no from_uri, serde has no
serializer for pendulum Date or pydantic models, and its datetime deserializer trips over freezegun."""

from __future__ import annotations

import contextlib
import functools
import types
from collections.abc import Iterator
from typing import Any

from airflow.configuration import conf
from airflow.exceptions import (
    AirflowSensorTimeout,
    AirflowSkipException,
    ParamValidationError,
    TaskDeferralError,
    TaskDeferralTimeout,
)
from airflow.hooks.base import BaseHook
from airflow.sdk import Connection as _SDKConnection
from airflow.serialization.serde import deserialize, serialize

# BaseSerialization's module is imported now although only the deferral kwargs use it: it defines
# pydantic models with datetime fields, and the task SDK imports it lazily (BaseOperator's constructor).
# Imported for the first time inside a test's `freeze_time` block, they would be built on freezegun's
# FakeDatetime and fail.
from airflow.serialization.serialized_objects import BaseSerialization  # noqa: F401
from airflow.timetables.interval import CronDataIntervalTimetable
from airflow.utils import timezone
from airflow.utils.module_loading import import_string
from airflow.utils.trigger_rule import TriggerRule as _TriggerRule

from pytest_xcom._compat import _server_mapping
from pytest_xcom._compat._server_mapping import get_relevant_map_indexes
from pytest_xcom._compat._shared import (
    FRAME_ENCODER,
    SKIP_DOWNSTREAM_SPARES,
    TASK_INSTANCES_IN_ROW_ORDER,
    TEARDOWN_WAITS_FOR_SCOPE,
    config_parsers,
    dag_serializer,
    datetime_serializer,
    fast_triggered_in_mapped_group,
    is_arg_set,
    list_dag_files,
    make_request_frame,
    manual_data_interval,
    new_dagbag,
    resume_kwargs,
    retry_backoff_multiplier,
    serde_registry,
    skip_decision_map_index,
    stored_next_kwargs,
    trigger_kwargs,
)

# What create_dagrun (and so dag.test()) raises for a conf the DAG's params refuse.
RUN_CONF_REFUSAL = ParamValidationError

# The API server's XCom route requires a body and the client sends none for a None value (httpx
# ``json=None``), so an XCom whose value is None is refused: 422 "Field required". 3.1 defaults it.
XCOM_NONE_REFUSED = True

# The API server fails a start request when a mapped group upstream has no length yet: 3.0's
# get_total_map_length raises NotFullyPopulated where 3.1's answers None.
server_upstream_map_indexes = functools.partial(
    _server_mapping.server_upstream_map_indexes, unknown_length_fails=True
)

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

# The trigger rules by name. 3.0 refuses all_done_min_one_success when a task is built, so no task of a
# test can carry it: its name stands for a value no rule equals.
TriggerRule = types.SimpleNamespace(
    **{rule.name: rule for rule in _TriggerRule}, ALL_DONE_MIN_ONE_SUCCESS=object()
)


class Connection(_SDKConnection):
    """The task SDK's Connection, with the ``from_uri`` 3.0 lacks: the URI parsed as the server parses it."""

    @classmethod
    def from_uri(cls, uri: str, conn_id: str) -> Connection:
        from airflow.models.connection import Connection as StoredConnection

        stored = StoredConnection(conn_id=conn_id, uri=uri)
        fields = ("conn_type", "host", "schema", "login", "password", "port", "extra")
        return cls(conn_id=conn_id, **{name: getattr(stored, name) for name in fields})


# The API server's XCom routes (execution_api/routes/xcoms.py) in the order it tries them: (name, methods,
# path). A request reaches the first that matches its method and path. Before 3.1 the key is one path
# segment, so a key with '/' (or '%2F') in it reaches no route.
XCOM_ROUTES = (
    ("xcom", {"HEAD", "GET"}, "/{dag_id}/{run_id}/{task_id}/{key}"),
    ("item", {"GET"}, "/{dag_id}/{run_id}/{task_id}/{key}/item/{offset}"),
    ("slice", {"GET"}, "/{dag_id}/{run_id}/{task_id}/{key}/slice"),
    ("xcom", {"POST", "DELETE"}, "/{dag_id}/{run_id}/{task_id}/{key}"),
)


def secrets_masker() -> Any:
    from airflow.sdk.execution_time.secrets_masker import _secrets_masker

    return _secrets_masker()


def rendered_fields_as_shown(sent: dict[str, Any]) -> dict[str, Any]:
    """The Rendered Template view's values from a SetRenderedFields body, as the API server stores them.

    A 3.0 task sends its fields unmasked; the API server masks them with its own masker, which knows
    the sensitive field names but none of the secrets the task registered (a connection's password).
    """
    from airflow.sdk.execution_time.secrets_masker import SecretsMasker

    server = SecretsMasker()
    return {field: server.redact(value, field) for field, value in sent.items()}


class _FrozenClockDeserializer:
    """3.0's datetime deserializer, called with the class name as it compares it.

    It matches a ``datetime.datetime`` or ``datetime.date`` by the qualname of ``datetime.datetime`` at
    call time, which is freezegun's fake class while a clock is frozen: on a worker (no freezegun) the
    two agree, here they would not, and the pull would fail.
    """

    @staticmethod
    def deserialize(classname: str, version: int, data: Any) -> Any:
        import datetime

        from airflow.utils.module_loading import qualname

        current = {"datetime.datetime": datetime.datetime, "datetime.date": datetime.date}[classname]
        return datetime_serializer().deserialize(qualname(current), version, data)


@contextlib.contextmanager
def frozen_clock_deserializers() -> Iterator[None]:
    from airflow.serialization import serde

    names = ("datetime.datetime", "datetime.date")
    saved = {name: serde._deserializers[name] for name in names}
    serde._deserializers.update(dict.fromkeys(names, _FrozenClockDeserializer))
    try:
        yield
    finally:
        serde._deserializers.update(saved)


def worker_log_config(sink: Any) -> dict[str, Any]:
    """``structlog.configure()`` arguments of a task process: JSON lines (bytes) into ``sink``.

    As the worker's ``configure_logging(enable_pretty_log=False)``, with the secrets masked as the
    supervisor masks them before the lines reach the task's log.
    """
    import logging

    import structlog
    from airflow.sdk.log import logging_processors

    processors, _ = logging_processors(enable_pretty_log=False, mask_secrets=True)
    return {
        "processors": processors,
        "wrapper_class": structlog.make_filtering_bound_logger(logging.INFO),
        "logger_factory": structlog.BytesLoggerFactory(sink),
        "cache_logger_on_first_use": False,
    }


# -- whole deployments: triggered runs, assets, human in the loop -------------------------------------


def hitl_response_result() -> Any:
    """The triggerer's answer to a HITL trigger's GetHITLDetailResponse: Airflow 3.0 has no HITL."""
    return None
