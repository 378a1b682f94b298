"""The reference: a real worker's round trip for an XCom value, assembled only from Airflow's and httpx's
own pieces, and the outcome the fake must agree with.

``reference_outcome(value)`` takes ``value`` from a task's ``xcom_push`` to a downstream ``xcom_pull``:
serde.serialize (the XCom backend's ``serialize_value``), the SetXCom message sent by the task's real
``CommsDecoder.send`` (in a thread of its own, as it blocks for the answer) over a real socket pair to the
supervisor's decoders, the HTTP body exactly as httpx's ``json=``
encodes it, the API server's body parsing (JSON -> JsonValue) and JSON column, its ``XComResponse`` JSON,
the client's ``XComResponse``, ``XComResult`` in a response frame read back by the task's real
``CommsDecoder``, and ``BaseXCom.deserialize_value``. Each piece is the installed Airflow's own, so
the reference is that version's worker path.

It shares no code with pytest_xcom (it must not import pytest_xcom.comms or pytest_xcom.store): it is what
the store is checked against, value by value: what arrives, or which exception is raised on which side.
"""

from __future__ import annotations

import datetime
import decimal
import inspect
import json
import math
import socket
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import msgspec
from airflow.api_fastapi.execution_api.datamodels.xcom import XComResponse as ServerXComResponse
from airflow.api_fastapi.execution_api.routes.xcoms import set_xcom
from airflow.sdk.api.datamodels._generated import XComResponse as ClientXComResponse
from airflow.sdk.bases.xcom import BaseXCom
from airflow.sdk.exceptions import ErrorType
from airflow.sdk.execution_time.comms import (
    CommsDecoder,
    ErrorResponse,
    GetXCom,
    SetXCom,
    ToSupervisor,
    XComResult,
    _RequestFrame,
    _ResponseFrame,
)
from httpx._content import encode_request
from pydantic import JsonValue, TypeAdapter

__all__ = [
    "Outcome",
    "RealWorkerPath",
    "SupervisorDropsRequest",
    "outcome_of",
    "reference_outcome",
    "reference_roundtrip",
    "same_value",
]

KEY = "return_value"

# -- comparing values and outcomes ----------------------------------------------------------------


def _zone(value: datetime.datetime) -> tuple:
    tz = value.tzinfo
    name = getattr(tz, "key", None) or getattr(tz, "name", None) or (tz.tzname(value) if tz else None)
    return (type(tz), name, value.utcoffset())


def _same_members(a: Any, b: Any) -> bool:
    """Each member of ``a`` is the same value as a different member of ``b`` (set members, dict items)."""
    unmatched = list(b)
    for x in a:
        match = next((i for i, y in enumerate(unmatched) if same_value(x, y)), None)
        if match is None:
            return False
        del unmatched[match]
    return not unmatched


def same_value(a: Any, b: Any) -> bool:
    """Equal, and of the same type all the way down (1 == 1.0 == True is not good enough here).

    Dict keys and set members are matched by type too; a float keeps its sign (-0.0 is not 0.0); a
    Decimal its digits (1.10 is not 1.1); a datetime its wall time, UTC offset and zone (the zone's type
    and name: timezone.utc is not pendulum's UTC).
    """
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        # Each (key, value) pair: a key matches only a key of the same type (1 is not "1", True or 1.0).
        return len(a) == len(b) and _same_members(a.items(), b.items())
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, set | frozenset):
        return len(a) == len(b) and _same_members(a, b)
    if isinstance(a, float):
        # NaN is the same as NaN here: a value is the same as itself.
        return (a == b and math.copysign(1, a) == math.copysign(1, b)) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, decimal.Decimal):
        return str(a) == str(b)
    if isinstance(a, datetime.datetime):
        # The same instant, wall time and zone; fold matters only where it changes the UTC offset.
        return a == b and a.replace(tzinfo=None) == b.replace(tzinfo=None) and _zone(a) == _zone(b)
    return bool(a == b)


class Outcome(NamedTuple):
    """What a downstream task receives, or which exception is raised on which side."""

    phase: str  # "ok", "push" or "pull"
    value: Any = None  # the value received, or the exception

    def agrees_with(self, other: Outcome) -> bool:
        if self.phase != other.phase:
            return False
        if self.phase == "ok":
            return same_value(self.value, other.value)
        return type(self.value) is type(other.value)

    def __repr__(self) -> str:
        if self.phase == "ok":
            return f"received {self.value!r}"
        return f"{self.phase} raised {type(self.value).__name__}: {self.value}"


def outcome_of(push: Callable[[], Any], pull: Callable[[], Any]) -> Outcome:
    """Run ``push`` then ``pull``: what ``pull`` returns, or which of them raised what."""
    try:
        push()
    except Exception as e:
        return Outcome("push", e)
    try:
        return Outcome("ok", pull())
    except Exception as e:
        return Outcome("pull", e)


# -- the reference: a real worker's path, assembled from Airflow's and httpx's parts -------------------


class SupervisorDropsRequest(Exception):
    """The supervisor could not validate the request: it logs and never answers (the task hangs)."""


_SOCKET_TIMEOUT = 30.0

# Built once, as Airflow builds them once per process.
_REQUEST_FRAMES = msgspec.msgpack.Decoder(_RequestFrame)  # the supervisor's length_prefixed_frame_reader
_REQUESTS = TypeAdapter(ToSupervisor)  # the supervisor's decoder
_REQUEST_BODY = TypeAdapter(JsonValue)  # the API server's body parameter
_RESPONSE_JSON = TypeAdapter(ServerXComResponse)  # FastAPI's response serializer (dump_json)


# The installed API server's XCom route: whether its body parameter has a default (3.1 gave it None).
_BODY_REQUIRED = inspect.signature(set_xcom).parameters["value"].default is inspect.Parameter.empty


def _missing_body_error() -> dict:
    # What the supervisor sends back for FastAPI's 422 on a missing body (ServerResponseError).
    missing = {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}
    return ErrorResponse(
        error=ErrorType.API_SERVER_ERROR,
        detail={
            "status_code": 422,
            "message": "Remote server returned validation error",
            "detail": {"detail": [missing]},
        },
    ).model_dump()


def _supervisor_error(exc: Exception) -> dict:
    # What the supervisor's handle_requests sends back when handling a request raises.
    return ErrorResponse(
        error=ErrorType.API_SERVER_ERROR,
        detail={"status_code": None, "message": str(exc), "exception_type": type(exc).__name__},
    ).model_dump()


class RealWorkerPath:
    """A task's comms client and a supervisor on the two ends of a real socket pair, and the API server."""

    IDENT = {"dag_id": "reference_dag", "run_id": "reference_run", "task_id": "upstream", "key": KEY}

    def __init__(self) -> None:
        self.task_end, self.supervisor_end = socket.socketpair()
        # One thread plays both ends: a frame too big for the socket's buffer would block forever, so
        # the supervisor's end times out instead (the task's CommsDecoder sets its end blocking).
        self.supervisor_end.settimeout(_SOCKET_TIMEOUT)
        self.client = CommsDecoder(socket=self.task_end)

    def close(self) -> None:
        self.task_end.close()
        self.supervisor_end.close()

    def _read_request(self) -> _RequestFrame:
        # The supervisor's side of the socket: a 4-byte big-endian length, then a msgpack request frame.
        length = int.from_bytes(self._receive(4), "big")
        return _REQUEST_FRAMES.decode(self._receive(length))

    def _receive(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.supervisor_end.recv(size - len(data))
            if not chunk:
                raise EOFError("the task's end of the socket closed")
            data += chunk
        return data

    def _exchange(self, msg: Any, serve: Callable[[int, Any], _ResponseFrame]) -> Any:
        """The task sends ``msg`` with ``CommsDecoder.send``; the supervisor reads and validates it, and
        answers with ``serve(request)``. Returns what ``send`` returned, or raises what it raised."""
        outcome: list[tuple[bool, Any]] = []

        def task() -> None:
            try:
                outcome.append((True, self.client.send(msg)))
            except BaseException as e:
                outcome.append((False, e))
                # As a worker that fails to send dies: the supervisor sees its end close.
                self.task_end.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=task, daemon=True)
        sender.start()
        try:
            try:
                request = self._read_request()
            except EOFError:
                sender.join(_SOCKET_TIMEOUT)
                if outcome and not outcome[0][0]:
                    raise outcome[0][1] from None  # send() itself refused the message
                raise
            try:
                received = _REQUESTS.validate_python(request.body)
            except Exception as e:
                raise SupervisorDropsRequest(e) from e
            self.supervisor_end.sendall(serve(request.id, received).as_bytes())
        except BaseException:
            # The task waits for an answer that will not come: closing its peer ends the wait.
            self.supervisor_end.shutdown(socket.SHUT_RDWR)
            sender.join(_SOCKET_TIMEOUT)
            raise
        sender.join(_SOCKET_TIMEOUT)
        if not outcome:
            raise TimeoutError(f"the task's send() did not return within {_SOCKET_TIMEOUT} s")
        returned, result = outcome[0]
        if not returned:
            raise result
        return result

    def push(self, value: Any) -> Any:
        """BaseXCom.set in a task, then the supervisor and the API server; returns the row's JSON value."""
        stored: list[Any] = []

        def serve(request_id: int, received: Any) -> _ResponseFrame:
            try:
                _, stream = encode_request(json=received.value)  # the supervisor's HTTP client: httpx json=
                body = b"".join(stream)
            except Exception as e:
                return _ResponseFrame(id=request_id, error=_supervisor_error(e))
            if not body and _BODY_REQUIRED:
                # httpx sends no body for json=None, and a route whose body has no default refuses that.
                return _ResponseFrame(id=request_id, error=_missing_body_error())
            # FastAPI parses the body with json.loads and validates it as JsonValue; the JSON column
            # stores it with json.dumps and reads it with json.loads (SQLite's; see the README for
            # PostgreSQL). An empty body takes the body parameter's default, None.
            received_body = json.loads(body) if body else None
            stored.append(json.loads(json.dumps(_REQUEST_BODY.validate_python(received_body))))
            return _ResponseFrame(id=request_id)

        # SetXCom validates the serialized value as JSON-ish.
        serialized = BaseXCom.serialize_value(value)
        assert self._exchange(SetXCom(value=serialized, map_index=-1, **self.IDENT), serve) is None
        return stored[0]

    def pull(self, stored: Any) -> Any:
        """BaseXCom.get_one in a downstream task, the API server answering with the stored row."""

        def serve(request_id: int, received: Any) -> _ResponseFrame:
            assert type(received) is GetXCom
            http_body = _RESPONSE_JSON.dump_json(ServerXComResponse(key=KEY, value=stored), by_alias=True)
            xcom = XComResult.from_xcom_response(ClientXComResponse.model_validate_json(http_body))
            # The supervisor sends it dumped with exclude_unset, in a response frame.
            return _ResponseFrame(id=request_id, body=xcom.model_dump(exclude_unset=True))

        return BaseXCom.deserialize_value(self._exchange(GetXCom(map_index=-1, **self.IDENT), serve))


def reference_outcome(value: Any) -> Outcome:
    """What a downstream task receives for ``value`` on a real worker, or what is raised on which side."""
    path = RealWorkerPath()
    try:
        stored: list[Any] = []
        return outcome_of(lambda: stored.append(path.push(value)), lambda: path.pull(stored[0]))
    finally:
        path.close()


def reference_roundtrip(value: Any) -> Any:
    """What a downstream task receives for ``value`` on a real worker; raises what the worker raises."""
    path = RealWorkerPath()
    try:
        return path.pull(path.push(value))
    finally:
        path.close()
