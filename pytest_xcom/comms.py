"""The fake supervisor: answers the task SDK's comms messages from the test's store.

Airflow's task code talks to the world only through ``task_runner.SUPERVISOR_COMMS``. This module puts an
:class:`InMemorySupervisorComms` there. It is Airflow's own ``CommsDecoder`` (the client half: framing
a request, decoding a response, raising ``AirflowRuntimeError`` for an error frame) with the socket
replaced by a direct call to the server half: the XCom routes here, the other routes in
:mod:`pytest_xcom.execution_api`. Each message still crosses the real msgpack frame both ways, and each
XCom value the JSON encoding the API server's HTTP client applies, so values are refused and transformed
at the step where a real worker refuses and transforms them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import threading
import typing
from collections.abc import Callable, Iterator
from typing import Annotated, Any, ClassVar, NamedTuple, Union
from urllib.parse import unquote

import attrs
from pydantic import Field, TypeAdapter

from pytest_xcom import _compat, _msgs, _process
from pytest_xcom._compat import ErrorResponse, ErrorType
from pytest_xcom._compat import comms_messages as m
from pytest_xcom.deployment import Deployment
from pytest_xcom.execution_api import (
    ServerError,
    assets,
    connections,
    dag_runs,
    hitl,
    task_instances,
    to_db_json,
    variables,
)
from pytest_xcom.store import XComStore

__all__ = ["InMemorySupervisorComms", "ServerError", "installed"]

# Decoding a request is the supervisor's job; these are its decoders, built once per process.
_REQUEST_DECODER = _compat.request_decoder()
_BODY_DECODER = _compat.supervisor_body_decoder()


# The task side's validator of response bodies and errors (the ToTask union). CommsDecoder builds a new
# one per instance, which costs milliseconds, and every test gets a new channel: build it once.
def _response_bodies() -> Any:
    """The ToTask union, and the triggerer's answer to a HITL trigger (which runs on this channel too)."""
    extra = _compat.hitl_response_result()
    if extra is None:
        return m.ToTask
    members = typing.get_args(typing.get_args(m.ToTask)[0])
    return Annotated[Union[(*members, extra)], Field(discriminator="type")]


_RESPONSE_BODY_DECODER = TypeAdapter(_response_bodies())

# Messages that report the task's outcome or bookkeeping: recorded for whoever runs the task.
_OUTCOME_MESSAGES = tuple(
    getattr(m, name)
    for name in (
        "TaskState",
        "SucceedTask",
        "RetryTask",
        "DeferTask",
        "RescheduleTask",
        "SkipDownstreamTasks",
        "SetRenderedFields",
        "SetRenderedMapIndex",
    )
    if _compat.has_message(name)
)


def _server_map_index(map_index: int | None) -> int:
    # The API client leaves out a map_index that is None or negative, and the server's default is -1.
    return -1 if map_index is None or map_index < 0 else map_index


class _XComPath(NamedTuple):
    dag_id: str
    run_id: str
    task_id: str
    key: str


# [core] execution_api_server_url's default. Its path matters: a key's ``..`` segments climb from it.
_EXECUTION_API_URL = "http://localhost:8080/execution/"
_XCOMS_MOUNT = "/execution/xcoms"


@functools.cache
def _url_client() -> Any:
    import httpx

    return httpx.Client(base_url=_EXECUTION_API_URL)


@functools.cache
def _route_regex(route: str) -> Any:
    from starlette.routing import compile_path

    return compile_path(route)[0]


# Characters httpx writes into a URL path as they are and uvicorn reads back as they are. A request whose
# parts are made only of these (and none is a ``.``/``..`` segment) reaches the path it was written with,
# so only the route has to be matched; building the request with httpx costs about a millisecond, and the
# run_id (a date) makes each test's requests new to any cache.
_PLAIN_PART = re.compile(r"[A-Za-z0-9_.~:+@!$&'()*,;=-]+").fullmatch


def served_xcom_path(
    dag_id: str, run_id: str, task_id: str, key: str, suffix: str = "", method: str = "GET"
) -> tuple[str, _XComPath] | None:
    """The API server route a real worker's XCom request reaches, and the XCom it names; None on a 404.

    The supervisor's API client writes the key into the URL path unescaped
    (``f"xcoms/{dag_id}/{run_id}/{task_id}/{key}{suffix}"``); httpx then reads ``?`` as the start of the
    query and ``#`` as a fragment, and resolves ``.``/``..`` segments; the server (uvicorn) percent-decodes
    the path, and the route's key takes the rest (from 3.1; one path segment before, so a key with
    ``/`` reaches no route). So ``"a?b"`` is stored as ``"a"``, ``"a%2Fb"`` as ``"a/b"`` (from 3.1),
    ``"../t/k"`` as key ``"k"`` of task ``t``; and a pull of ``"a?b"`` (whose ``/slice`` suffix is cut
    off with the query) reaches the wrong route.
    """
    parts = (dag_id, run_id, task_id, key)
    if all(_PLAIN_PART(part) and part not in (".", "..") for part in parts):
        return _matched_route(f"/{dag_id}/{run_id}/{task_id}/{key}{suffix}", method)
    return _served_xcom_path_via_url(dag_id, run_id, task_id, key, suffix, method)


@functools.lru_cache(maxsize=4096)
def _served_xcom_path_via_url(
    dag_id: str, run_id: str, task_id: str, key: str, suffix: str = "", method: str = "GET"
) -> tuple[str, _XComPath] | None:
    """Build the request as the worker's httpx client does and read its path as uvicorn does."""
    url = f"xcoms/{dag_id}/{run_id}/{task_id}/{key}{suffix}"
    raw_path = _url_client().build_request(method, url).url.raw_path.partition(b"?")[0]
    path = unquote(raw_path.decode("ascii"))  # as uvicorn builds the ASGI scope's path
    if not path.startswith(_XCOMS_MOUNT + "/"):
        return None
    return _matched_route(path[len(_XCOMS_MOUNT) :], method)


def _matched_route(path: str, method: str) -> tuple[str, _XComPath] | None:
    """The route under the xcoms mount that ``path`` (starting with ``/``) reaches, as starlette picks it."""
    for name, methods, route in _compat.XCOM_ROUTES:
        match = _route_regex(route).match(path)
        if method in methods and match is not None:
            if not match["key"]:
                return None  # the route requires a key (min_length=1)
            return name, _XComPath(match["dag_id"], match["run_id"], match["task_id"], match["key"])
    return None


# The other messages' handlers, by the execution API route module that answers them.
_ROUTES = {
    **variables.HANDLERS,
    **connections.HANDLERS,
    **task_instances.HANDLERS,
    **dag_runs.HANDLERS,
    **assets.HANDLERS,
    **hitl.HANDLERS,
}


@attrs.define(kw_only=True)
class InMemorySupervisorComms(_compat.CommsDecoder):
    """Airflow's comms client, wired to an in-memory API server instead of a supervisor process."""

    socket: Any = None
    body_decoder: Any = attrs.field(default=_RESPONSE_BODY_DECODER, repr=False)
    err_decoder: Any = attrs.field(default=_RESPONSE_BODY_DECODER, repr=False)
    store: XComStore
    variables: dict[str, str | None] = attrs.field(factory=dict)
    connections: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    task_state: dict[tuple[Any, str], Any] = attrs.field(factory=dict)
    """The task state store: (task instance id, key) -> JSON value."""
    # Per thread: tests may run tasks from several threads on one store, and each reads its own outcome.
    _events: threading.local = attrs.field(factory=threading.local, repr=False)
    ti_count: Callable[[Any], int] | None = None
    """Answers GetTICount; set by the DAG runner, which knows how many instances each task has."""
    reschedule_start: Callable[[Any], Any] | None = None
    """Answers GetTaskRescheduleStartDate (task instance id -> first start); set by the DAG runner."""
    dag_run: tuple[str, Any] | None = None
    """(dag_id, logical_date) of the run whose tasks are talking; set by the DAG runner, whose earlier
    runs in the store answer GetPrevSuccessfulDagRun."""
    deployment: Deployment = attrs.field(factory=Deployment)
    """Triggered DAG runs, assets and asset events: the rest of the deployment the tasks talk to."""
    task_states: Callable[[Any], dict[str, dict[str, Any]]] | None = None
    """Answers GetTaskStates ({run_id: {task key: state}}); set by the DAG runner."""
    # The API server answers each request in a transaction; here one request at a time is answered, so
    # a task's threads (or tests running tasks from threads) never see the store half-written.
    _server_lock: threading.RLock = attrs.field(factory=threading.RLock, repr=False)

    @property
    def events(self) -> list[Any]:
        """Outcome messages the task running in this thread sent (state, skips, rendered fields), in order."""
        try:
            return self._events.messages  # type: ignore[no-any-return]
        except AttributeError:
            self._events.messages = []
            return self._events.messages  # type: ignore[no-any-return]

    # -- the client half: Airflow's framing, no socket ----------------------------------------------

    def send(self, msg: Any) -> Any:
        # One request at a time, as Airflow's client serialises them on its socket.
        with self._server_lock:
            request = _REQUEST_DECODER.decode(_compat.make_request_frame(self, msg).as_bytes()[4:])
            response = self._serve(request)
            return self._from_frame(self.resp_decoder.decode(response.as_bytes()[4:]))

    async def asend(self, msg: Any) -> Any:
        return self.send(msg)

    # -- the store's push and decode, taking the worker's path ----------------------------------------

    def push(self, dag_id: str, run_id: str, task_id: str, map_index: int, key: str, value: Any) -> None:
        """Push ``value`` as ``BaseXCom.set`` does from a task: the XCom backend's serializer, then comms."""
        serialized = _compat.XCom.serialize_value(
            value=value, key=key, task_id=task_id, dag_id=dag_id, run_id=run_id, map_index=map_index
        )
        self.send(
            m.SetXCom(
                key=key, value=serialized, dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index
            )
        )

    def decode(self, key: str, json_text: str) -> Any:
        """What a task receives for a stored row: the response frame, then ``deserialize_value``."""
        result = self._deliver(m.XComResult(key=key, value=json.loads(json_text)))
        return _compat.XCom.deserialize_value(result)

    def _deliver(self, response: Any) -> Any:
        frame = _compat.response_frame(0, body=response.model_dump())
        return self._from_frame(self.resp_decoder.decode(frame.as_bytes()[4:]))

    # -- the server half ------------------------------------------------------------------------------

    def _serve(self, request: Any) -> Any:
        try:
            msg = _BODY_DECODER.validate_python(request.body)
            response = self._handle(msg)
        except ServerError as e:
            # What the supervisor sends back when the API server answers with an HTTP error.
            error = ErrorResponse(
                error=ErrorType.API_SERVER_ERROR,
                detail={"status_code": e.status_code, "message": str(e), "detail": e.detail},
            )
            return _compat.response_frame(request.id, error=error.model_dump())
        except Exception as e:
            # The supervisor turns any other failure while handling a request into this error frame.
            error = ErrorResponse(
                error=ErrorType.API_SERVER_ERROR,
                detail={"status_code": None, "message": str(e), "exception_type": type(e).__name__},
            )
            return _compat.response_frame(request.id, error=error.model_dump())
        body = (
            None
            if response is None
            else response.model_dump(**self._DUMP_OPTIONS.get(type(response).__name__, {}))
        )
        return _compat.response_frame(request.id, body=body)

    def _handle(self, msg: Any) -> Any:
        handler = self._HANDLERS.get(type(msg).__name__)
        if handler is not None:
            return handler(self, msg)
        if isinstance(msg, _OUTCOME_MESSAGES):
            self.events.append(msg)
            return None
        raise NotImplementedError(_msgs.unsupported_message(type(msg).__name__))

    def _served(self, msg: Any, method: str, route: str = "xcom", suffix: str = "") -> _XComPath | None:
        """The XCom a real worker's request for ``msg`` names, None if the server would answer 404."""
        reached = served_xcom_path(msg.dag_id, msg.run_id, msg.task_id, msg.key, suffix, method)
        if reached is None:
            return None
        if reached[0] != route:
            # The client then fails to read the other route's answer as the one it asked for.
            raise ValueError(_msgs.xcom_key_reaches_other_route(msg.task_id, msg.key, reached[0], route))
        served = reached[1]
        if served != (msg.dag_id, msg.run_id, msg.task_id, msg.key):
            note = _msgs.xcom_key_rewritten(msg.task_id, msg.key, served.task_id, served.key)
            if note not in self.store.misses:
                self.store.misses.append(note)
        return served

    def _served_or_404(self, msg: Any, method: str, route: str = "xcom", suffix: str = "") -> _XComPath:
        served = self._served(msg, method, route, suffix)
        if served is None:
            raise ServerError(404, "not_found", _msgs.xcom_key_without_route(msg.task_id, msg.key))
        return served

    def _set_xcom(self, msg: Any) -> None:
        if not msg.key:
            raise ServerError(400, "invalid_key", "XCom key must be a non-empty string.")
        served = self._served_or_404(msg, "POST")
        # FastAPI validates the body before the route runs: nothing is recorded.
        if msg.value is None and _compat.XCOM_NONE_REFUSED:
            missing = {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}
            raise ServerError(
                422, "", _msgs.xcom_none_refused(served.task_id, served.key), detail={"detail": [missing]}
            )
        map_index = _server_map_index(msg.map_index)
        if msg.mapped_length is not None:
            if msg.mapped_length > _compat.max_map_length():
                raise ServerError(
                    400,
                    "unmappable_return_value_length",
                    "pushed value is too large to map as a downstream's dependency",
                )
            self.store.task_maps[(served.dag_id, served.run_id, served.task_id, map_index)] = (
                msg.mapped_length
            )
        json_text = to_db_json(msg.value)
        self.store.put_json(served.dag_id, served.run_id, served.task_id, map_index, served.key, json_text)

    def _get_xcom(self, msg: Any) -> Any:
        map_index = _server_map_index(msg.map_index)
        served = self._served(msg, "GET")
        # The API client turns the server's 404 into an empty result.
        found = served and self.store.find_json(*served[:3], served.key, map_index, msg.include_prior_dates)
        if not found:
            self._note_miss(msg, map_index)
            return m.XComResult(key=msg.key, value=None)
        return m.XComResult(key=msg.key, value=json.loads(found))

    def _get_xcom_slice(self, msg: Any) -> Any:
        served = self._served_or_404(msg, "GET", "slice", "/slice")
        if msg.include_prior_dates:
            rows = self.store.find_prior_json(*served)
        else:
            rows = self.store.find_all_json(*served)
        if not rows:
            self._note_miss(msg, -1)
        values = [json.loads(row) for row in rows][slice(msg.start, msg.stop, msg.step)]
        return m.XComSequenceSliceResult(root=values)

    def _get_xcom_count(self, msg: Any) -> Any:
        served = self._served_or_404(msg, "HEAD")
        return m.XComCountResponse(len=len(self.store.find_all_json(*served)))

    def _get_xcom_item(self, msg: Any) -> Any:
        served = self._served_or_404(msg, "GET", "item", f"/item/{msg.offset}")
        row = self.store.find_json_item(*served, msg.offset)
        if row is None:
            detail = {k: getattr(msg, k) for k in ("dag_id", "run_id", "task_id", "key", "offset")}
            return ErrorResponse(error=ErrorType.XCOM_NOT_FOUND, detail=detail)
        return m.XComSequenceIndexResult(root=json.loads(row))

    def _delete_xcom(self, msg: Any) -> None:
        served = self._served_or_404(msg, "DELETE")
        self.store.delete(*served[:3], _server_map_index(msg.map_index), served.key)

    def _note_miss(self, msg: Any, map_index: int) -> None:
        explanation = self.store.explain_miss(
            msg.task_id, key=msg.key, map_index=map_index, dag_id=msg.dag_id, run_id=msg.run_id
        )
        self.store.misses.append(f"xcom_pull: {explanation}")

    def _ignore(self, msg: Any) -> None:
        return None

    # The supervisor sends a connection by its field aliases ("schema", not "schema_").
    _DUMP_OPTIONS: ClassVar[dict[str, dict[str, bool]]] = {"ConnectionResult": {"by_alias": True}}

    _HANDLERS: ClassVar[dict[str, Callable[[InMemorySupervisorComms, Any], Any]]] = {
        "SetXCom": _set_xcom,
        "GetXCom": _get_xcom,
        "GetXComSequenceSlice": _get_xcom_slice,
        "GetXComCount": _get_xcom_count,
        "GetXComSequenceItem": _get_xcom_item,
        "DeleteXCom": _delete_xcom,
        **_ROUTES,
        # Secrets masking happens in the supervisor's log forwarder, which a test does not have.
        "MaskSecret": _ignore,
        # A task started as another user asks for a new log socket; a test's task logs in-process, so
        # there is none to send: the answer is empty, as from a supervisor that cannot pass descriptors.
        "ResendLoggingFD": _ignore,
    }


@contextlib.contextmanager
def installed(comms: InMemorySupervisorComms) -> Iterator[InMemorySupervisorComms]:
    """Make ``comms`` the task SDK's channel for the block, restoring the previous one after.

    While it is installed, values made under freezegun's frozen clock serialize as real datetimes; the
    secrets tasks register for masking are forgotten when it is removed. Blocks may overlap on several
    threads (tests running tasks from threads): each thread's tasks talk to their own channel.
    """
    with _process.comms_installed(
        comms,
        get_comms=_compat.get_supervisor_comms,
        set_comms=_compat.set_supervisor_comms,
        process_patches=_channel_patches,
    ):
        yield comms


@contextlib.contextmanager
def _channel_patches() -> Iterator[None]:
    with (
        _compat.frozen_clock_values_serializable(),
        _compat.memoized_type_adapters(),
        _compat.secrets_masker_restored(),
        _compat.hostname_looked_up_once(),
    ):
        yield
