"""The one place that knows which Airflow this is and where its internals live.

Everything pytest_xcom touches inside Airflow is imported here, so that a new Airflow release means
reading this file, not the whole package. Importing this module imports Airflow (about a second), so the
rest of the package imports it lazily, from inside the functions that need it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from airflow import __version__ as AIRFLOW_VERSION
from airflow.sdk import Connection, TriggerRule, timezone
from airflow.sdk.api.datamodels._generated import (
    DagRun,
    DagRunState,
    DagRunType,
    TaskInstanceState,
    TIRunContext,
)
from airflow.sdk.bases.operator import BaseOperator
from airflow.sdk.definitions._internal.expandinput import DictOfListsExpandInput
from airflow.sdk.definitions._internal.types import is_arg_set
from airflow.sdk.definitions.dag import DAG
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.definitions.taskgroup import MappedTaskGroup
from airflow.sdk.definitions.xcom_arg import ConcatXComArg, MapXComArg, PlainXComArg, XComArg, ZipXComArg
from airflow.sdk.exceptions import AirflowRuntimeError, AirflowSensorTimeout, ErrorType
from airflow.sdk.execution_time import comms as _comms
from airflow.sdk.execution_time import task_runner
from airflow.sdk.execution_time.comms import CommsDecoder, ErrorResponse
from airflow.sdk.execution_time.context import set_current_context
from airflow.sdk.execution_time.task_mapping import get_relevant_map_indexes
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
from airflow.sdk.execution_time.xcom import XCom
from airflow.sdk.module_loading import import_string
from airflow.sdk.serde import deserialize, serialize

# Imported here, not where it is used: it defines pydantic models with datetime fields, and imported
# for the first time inside a test's `freeze_time` block those would be built on freezegun's FakeDatetime
# and fail. Everything Airflow imports lazily must be in before a test body (and its clock) starts.
from airflow.serialization.encoders import coerce_to_core_timetable
from packaging.version import Version

__all__ = [
    "AIRFLOW_VERSION",
    "DAG",
    "AirflowRuntimeError",
    "AirflowSensorTimeout",
    "BaseOperator",
    "CommsDecoder",
    "ConcatXComArg",
    "Connection",
    "DagRun",
    "DagRunState",
    "DagRunType",
    "DictOfListsExpandInput",
    "ErrorResponse",
    "ErrorType",
    "MapXComArg",
    "MappedTaskGroup",
    "ParamsDict",
    "PlainXComArg",
    "RuntimeTaskInstance",
    "TIRunContext",
    "TaskInstanceState",
    "TriggerRule",
    "XCom",
    "XComArg",
    "ZipXComArg",
    "comms_messages",
    "deserialize",
    "frozen_clock_values_serializable",
    "get_relevant_map_indexes",
    "get_supervisor_comms",
    "import_string",
    "is_arg_set",
    "manual_data_interval",
    "manual_run_id",
    "max_map_length",
    "memoized_type_adapters",
    "request_decoder",
    "response_frame",
    "secrets_masker_restored",
    "serialize",
    "set_current_context",
    "set_supervisor_comms",
    "supervisor_body_decoder",
    "task_runner",
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
    interval = coerce_to_core_timetable(dag.timetable).infer_manual_data_interval(run_after=logical_date)
    return interval.start, interval.end


class _FrozenClockSerializer:
    """serde's serializer for freezegun's FakeDatetime/FakeDate: the real datetime/date a worker sends.

    Under ``freeze_time``, ``datetime.now()`` returns freezegun's subclass, which serde does not know;
    on a worker (no freezegun) the same code returns a plain datetime, which it does.
    """

    @staticmethod
    def serialize(o: Any) -> Any:
        from airflow.sdk.serde.serializers import datetime as datetime_serializer
        from freezegun.api import real_date, real_datetime

        if isinstance(o, real_datetime):
            fields = (o.year, o.month, o.day, o.hour, o.minute, o.second, o.microsecond, o.tzinfo)
            o = real_datetime(*fields, fold=o.fold)
        else:
            o = real_date(o.year, o.month, o.day)
        return datetime_serializer.serialize(o)


_FROZEN_CLOCK_TYPES = ("freezegun.api.FakeDatetime", "freezegun.api.FakeDate")


def _frame_enc_hook(obj: Any) -> Any:
    """Airflow's msgpack hook, first turning any datetime subclass (freezegun's, pendulum's) into a plain one.

    Airflow's own hook rebuilds pendulum datetimes with the ``datetime`` name of its module, which
    freezegun replaces with its fake class while a clock is frozen; msgspec takes only the real class.
    """
    from freezegun.api import real_date, real_datetime

    if isinstance(obj, real_datetime):
        fields = (obj.year, obj.month, obj.day, obj.hour, obj.minute, obj.second, obj.microsecond)
        return real_datetime(*fields, tzinfo=obj.tzinfo, fold=obj.fold)
    if isinstance(obj, real_date):
        return real_date(obj.year, obj.month, obj.day)
    return _comms._msgpack_enc_hook(obj)


@contextlib.contextmanager
def frozen_clock_values_serializable() -> Iterator[None]:
    """Let values made under freezegun's frozen clock travel as a worker's real datetimes would.

    Registers a serde serializer for freezegun's types and gives the comms frames an encoder that
    accepts them, restoring both afterwards.
    """
    import msgspec
    from airflow.sdk import serde

    added = [name for name in _FROZEN_CLOCK_TYPES if name not in serde._serializers]
    for name in added:
        serde._serializers[name] = _FrozenClockSerializer  # type: ignore[assignment]
    frames = _comms._FrameMixin
    previous_encoder = frames._encoder
    frames._encoder = msgspec.msgpack.Encoder(enc_hook=_frame_enc_hook)
    try:
        yield
    finally:
        frames._encoder = previous_encoder
        for name in added:
            serde._serializers.pop(name, None)


# One adapter per type for the whole process: building one costs about half a millisecond, and an
# adapter holds no state of a test's.
_memoized_type_adapter = functools.cache(task_runner.TypeAdapter)


@contextlib.contextmanager
def memoized_type_adapters() -> Iterator[None]:
    """Let the task runner reuse its pydantic TypeAdapters instead of building one per call.

    ``task_runner`` builds ``TypeAdapter(JsonValue)`` anew for every template field of every task it
    runs, a third of the cost of running a small task. A worker runs one task and exits; a test runs
    many in one process. The adapter is the same either way: only the cost changes.
    """
    original = task_runner.TypeAdapter
    task_runner.TypeAdapter = _memoized_type_adapter  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        task_runner.TypeAdapter = original  # type: ignore[misc]


@contextlib.contextmanager
def secrets_masker_restored() -> Iterator[None]:
    """Forget, after the block, the secrets a task registered for masking (connection passwords, ...).

    A worker's masker dies with its process; here it is process-wide, and a secret one test masked
    would be starred out of the next tests' logs and rendered fields.
    """
    from airflow.sdk._shared.secrets_masker import _secrets_masker

    masker = _secrets_masker()
    saved = (set(masker.patterns), masker.replacer)
    try:
        yield
    finally:
        masker.patterns, masker.replacer = saved


def max_map_length() -> int:
    """``[core] max_map_length``: the API server refuses to map more than this many items."""
    from airflow.sdk.configuration import conf

    return conf.getint("core", "max_map_length", fallback=1024)
