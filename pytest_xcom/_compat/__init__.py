"""The one place that knows which Airflow this is and where its internals live.

Everything pytest_xcom touches inside Airflow is imported here. What is the same in every supported
Airflow (3.0 to 3.3) is imported in this module; what differs is in one module per minor version
(``_v3_0`` ... ``_v3_3``), each defining the same names (``VERSIONED_NAMES``), and only the running
Airflow's is imported. A minor's module may import what did not change from the one before it and define
only what moved (``_v3_3`` does); supporting a new minor means adding such a module.
Importing this package imports Airflow (about a second), so the rest of the package imports it lazily,
from inside the functions that need it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow import __version__ as AIRFLOW_VERSION
from packaging.version import Version

from pytest_xcom import _msgs
from pytest_xcom._compat._refusals import StartRefused
from pytest_xcom._supported import SUPPORTED_MINORS, is_supported

AIRFLOW_MINOR: tuple[int, int] = Version(AIRFLOW_VERSION).release[:2]  # type: ignore[assignment]

if not is_supported(AIRFLOW_VERSION):  # pragma: no cover - guarded by the dependency pin and the plugin
    raise ImportError(_msgs.unsupported_airflow(AIRFLOW_VERSION))

# The scheduler's, DAG processor's and DagBag's config (the task SDK has its own from 3.2).
from airflow.configuration import conf as core_conf  # noqa: E402
from airflow.sdk.api.datamodels._generated import (  # noqa: E402
    DagRun,
    DagRunState,
    DagRunType,
    TaskInstanceState,
    TIRunContext,
)

# The trigger-failure protocol: a task resumed with this method raises TaskDeferralTimeout or
# TaskDeferralError, by the reason in its next_kwargs.
from airflow.sdk.bases.operator import TRIGGER_FAIL_REPR, BaseOperator, TriggerFailureReason  # noqa: E402
from airflow.sdk.definitions._internal.expandinput import DictOfListsExpandInput  # noqa: E402
from airflow.sdk.definitions.dag import DAG  # noqa: E402
from airflow.sdk.definitions.param import ParamsDict  # noqa: E402
from airflow.sdk.definitions.taskgroup import MappedTaskGroup  # noqa: E402
from airflow.sdk.definitions.xcom_arg import (  # noqa: E402
    ConcatXComArg,
    MapXComArg,
    PlainXComArg,
    XComArg,
    ZipXComArg,
)
from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType  # noqa: E402
from airflow.sdk.execution_time import comms as _comms  # noqa: E402
from airflow.sdk.execution_time import task_runner  # noqa: E402
from airflow.sdk.execution_time.comms import CommsDecoder, ErrorResponse  # noqa: E402
from airflow.sdk.execution_time.context import set_current_context  # noqa: E402
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance  # noqa: E402
from airflow.sdk.execution_time.xcom import XCom  # noqa: E402

# This Airflow's module: the same names in every one of them, each where this version keeps it.
_version = importlib.import_module(f"pytest_xcom._compat._v{AIRFLOW_MINOR[0]}_{AIRFLOW_MINOR[1]}")
VERSIONED_NAMES: list[str] = list(_version.__all__)
globals().update({name: getattr(_version, name) for name in VERSIONED_NAMES})

if TYPE_CHECKING:
    # Type checkers read the newest minor's names; every minor's module defines the same ones.
    from pytest_xcom._compat._v3_3 import *  # noqa: F403

__all__ = [
    "AIRFLOW_MINOR",
    "AIRFLOW_VERSION",
    "DAG",
    "SUPPORTED_MINORS",
    "StartRefused",
    "TRIGGER_FAIL_REPR",
    "VERSIONED_NAMES",
    "AirflowRuntimeError",
    "BaseOperator",
    "CommsDecoder",
    "ConcatXComArg",
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
    "TaskInstanceState",
    "TriggerFailureReason",
    "XCom",
    "XComArg",
    "ZipXComArg",
    "comms_messages",
    "core_conf",
    "dag_run",
    "frozen_clock_values_serializable",
    "get_supervisor_comms",
    "has_message",
    "has_serializer",
    "hostname_looked_up_once",
    "manual_run_id",
    "max_map_length",
    "memoized_type_adapters",
    "request_decoder",
    "response_frame",
    "secrets_masker_restored",
    "set_current_context",
    "set_supervisor_comms",
    "supervisor_body_decoder",
    "task_runner",
    "ti_run_context",
    *VERSIONED_NAMES,
]

# The message classes of the task <-> supervisor protocol, by name (SetXCom, GetXCom, TaskState, ...).
comms_messages = _comms

_NO_COMMS = object()


def has_message(name: str) -> bool:
    """Whether this Airflow's task SDK has the comms message ``name`` (SetRenderedMapIndex: from 3.2)."""
    return hasattr(_comms, name)


def has_serializer(classname: str) -> bool:
    """Whether this Airflow's serde has a serializer for ``classname`` ("uuid.UUID": from 3.2)."""
    return classname in _version.serde_registry()


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


def dag_run(**fields: Any) -> Any:
    """The DagRun the API server sends, given every field any supported Airflow has.

    Each version's model forbids fields it does not know (3.0 and 3.1 have no partition_key), so
    those are left out; the ones given are None or empty there, as that version's server leaves them.
    """
    known = DagRun.model_fields
    return DagRun(**{name: value for name, value in fields.items() if name in known})


def ti_run_context(task: Any, map_index: int, dag_run: Any, **fields: Any) -> Any:
    """The TIRunContext the API server sends a starting task instance of ``task``.

    Before 3.2 the server also works out, for each upstream, which map indexes the task pulls; the
    installed comms channel's store stands for its metadata DB.
    """
    upstream_map_indexes = _version.server_upstream_map_indexes(task, map_index, dag_run.run_id)
    if upstream_map_indexes is not None:
        fields["upstream_map_indexes"] = upstream_map_indexes
    return TIRunContext(dag_run=dag_run, **fields)


class _FrozenClockSerializer:
    """serde's serializer for freezegun's FakeDatetime/FakeDate: the real datetime/date a worker sends.

    Under ``freeze_time``, ``datetime.now()`` returns freezegun's subclass, which serde does not know;
    on a worker (no freezegun) the same code returns a plain datetime, which it does.
    """

    @staticmethod
    def serialize(o: Any) -> Any:
        from freezegun.api import real_date, real_datetime

        if isinstance(o, real_datetime):
            fields = (o.year, o.month, o.day, o.hour, o.minute, o.second, o.microsecond, o.tzinfo)
            o = real_datetime(*fields, fold=o.fold)
        else:
            o = real_date(o.year, o.month, o.day)
        return _version.datetime_serializer().serialize(o)


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

    serializers = _version.serde_registry()
    added = [name for name in _FROZEN_CLOCK_TYPES if name not in serializers]
    for name in added:
        serializers[name] = _FrozenClockSerializer
    frames, attribute = _version.FRAME_ENCODER
    previous_encoder = frames.__dict__[attribute]
    setattr(frames, attribute, msgspec.msgpack.Encoder(enc_hook=_frame_enc_hook))
    try:
        with _version.frozen_clock_deserializers():
            yield
    finally:
        setattr(frames, attribute, previous_encoder)
        for name in added:
            serializers.pop(name, None)


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
    masker = _version.secrets_masker()
    saved = (set(masker.patterns), masker.replacer)
    try:
        yield
    finally:
        masker.patterns, masker.replacer = saved


def max_map_length() -> int:
    """``[core] max_map_length``: the API server refuses to map more than this many items."""
    return _version.conf.getint("core", "max_map_length", fallback=1024)


# The host's name by ``[core] hostname_callable``: the task runner asks at every task start, and the
# default callable (socket.getfqdn) costs a DNS look-up; the answer does not change during a session.
_HOSTNAMES: dict[str, str] = {}


@contextlib.contextmanager
def hostname_looked_up_once() -> Iterator[None]:
    """Let the task runner's ``get_hostname`` look the host up once per session, restoring it after."""
    original = task_runner.get_hostname

    def get_hostname() -> str:
        callable_path = str(_version.conf.get("core", "hostname_callable", fallback=""))
        if callable_path not in _HOSTNAMES:
            _HOSTNAMES[callable_path] = original()
        return _HOSTNAMES[callable_path]

    task_runner.get_hostname = get_hostname
    try:
        yield
    finally:
        task_runner.get_hostname = original


# Which task instance a DAG callback's context is built from (DagRun.update_state): before 3.2 the run's
# last one whatever the reason ("listed": as the DB lists them, 3.0; "task_id": by natural task_id
# order, 3.1), from 3.2 the one that decided it ("deciding": the last to finish in the deciding state,
# or for a deadlock the first unfinished one with a finished upstream).
DAG_CALLBACK_TI: str = {(3, 0): "listed", (3, 1): "task_id"}.get(AIRFLOW_MINOR, "deciding")
