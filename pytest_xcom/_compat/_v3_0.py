"""Airflow 3.0: as 3.1, and TriggerRule, timezone, import_string, BaseHook and the secrets masker live
elsewhere, all_done_min_one_success does not exist, the SDK Connection has no from_uri, serde has no
serializer for pendulum Date or pydantic models, and its datetime deserializer trips over freezegun."""

from __future__ import annotations

import contextlib
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
from airflow.sdk.definitions._internal.types import ArgNotSet
from airflow.sdk.execution_time import comms as _comms
from airflow.serialization.serde import deserialize, serialize

# BaseSerialization's module is imported here although only the deferral kwargs use it: it defines
# pydantic models with datetime fields, and the task SDK imports it lazily (BaseOperator's constructor).
# Imported for the first time inside a test's `freeze_time` block, they would be built on freezegun's
# FakeDatetime and fail.
from airflow.serialization.serialized_objects import BaseSerialization
from airflow.timetables.interval import CronDataIntervalTimetable
from airflow.utils import timezone
from airflow.utils.module_loading import import_string
from airflow.utils.trigger_rule import TriggerRule as _TriggerRule

from pytest_xcom._compat._server_mapping import get_relevant_map_indexes, server_upstream_map_indexes

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

# (class, attribute): the msgpack encoder both request and response frames use (the response frame
# subclasses the request frame).
FRAME_ENCODER = (_comms._RequestFrame, "req_encoder")


def is_arg_set(value: Any) -> bool:
    return not isinstance(value, ArgNotSet)


def make_request_frame(comms: Any, msg: Any) -> Any:
    """The request frame ``comms.send(msg)`` writes to the socket."""
    return _comms._RequestFrame(id=next(comms.id_counter), body=msg.model_dump())


def manual_data_interval(dag: Any, logical_date: Any) -> Any:
    # A task SDK DAG still holds the scheduler's timetable classes.
    return dag.timetable.infer_manual_data_interval(run_after=logical_date)


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


def new_dagbag(folder: Any) -> Any:
    """An empty DagBag for ``folder``; before 3.2 it would also load Airflow's example DAGs unless told."""
    from airflow.models.dagbag import DagBag

    return DagBag(folder, include_examples=False, collect_dags=False, bundle_path=folder)


def list_dag_files(folder: Any, safe_mode: bool) -> list[str]:
    """The files the DAG processor parses in ``folder``: ``find_dag_file_paths`` with today's config.

    Before 3.2 Airflow reads ``[core] dag_ignore_file_syntax`` once, as the default argument of
    ``find_path_from_directory`` when ``airflow.utils.file`` is imported, which a DAG processor does
    after loading its config. A test sets config later, so the setting is passed here as that default
    would have been read; the rest is ``find_dag_file_paths`` as it is.
    """
    import zipfile
    from pathlib import Path

    from airflow.utils.file import find_path_from_directory, might_contain_dag

    syntax = conf.get_mandatory_value("core", "DAG_IGNORE_FILE_SYNTAX", fallback="glob")
    files = []
    for file_path in find_path_from_directory(folder, ".airflowignore", syntax):
        path = Path(file_path)
        with contextlib.suppress(Exception):  # Airflow logs such a file and goes on
            if path.is_file() and (path.suffix == ".py" or zipfile.is_zipfile(path)):
                if might_contain_dag(file_path, safe_mode):
                    files.append(file_path)
    return sorted(files)


def dag_serializer() -> Any:
    """The DAG serializer the DAG processor uses (``to_dict`` / ``from_dict``)."""
    from airflow.serialization.serialized_objects import SerializedDAG

    return SerializedDAG


def config_parsers() -> list[Any]:
    """Airflow's config parsers: one before 3.2, read by the task runner too."""
    return [conf]


def stored_next_kwargs(kwargs: dict[str, Any]) -> Any:
    """next_kwargs the scheduler or triggerer writes to the task instance, as the API server hands them on.

    Before 3.2 the column is ExtendedJSON, which stores BaseSerialization's form.
    """
    return BaseSerialization.serialize(kwargs)


def serde_registry() -> dict[str, Any]:
    """serde's table of serializers by qualified type name."""
    from airflow.serialization import serde

    return serde._serializers  # type: ignore[return-value]


def datetime_serializer() -> Any:
    from airflow.serialization.serializers import datetime

    return datetime


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


def trigger_kwargs(data: Any) -> Any:
    """A deferring task's trigger kwargs as the triggerer rebuilds them from DeferTask.

    Before 3.2 DeferTask carries them in BaseSerialization's form, not serde's.
    """
    return BaseSerialization.deserialize(data)


def resume_kwargs(event_payload: Any) -> Any:
    """The next_kwargs a task resumes with after its trigger fired, as dag.test() sets them.

    dag.test() puts ``{"event": payload}`` into the task instance's ExtendedJSON column, which stores it
    in BaseSerialization's form; the API server hands the worker that stored form.
    """
    return BaseSerialization.serialize({"event": event_payload})


# -- whole deployments: triggered runs, assets, human in the loop -------------------------------------


def hitl_response_result() -> Any:
    """The triggerer's answer to a HITL trigger's GetHITLDetailResponse: Airflow 3.0 has no HITL."""
    return None
