"""Connections (the execution API's ``connections`` routes), from the channel's ``connections``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytest_xcom._compat import ErrorResponse, ErrorType
from pytest_xcom._compat import comms_messages as m

__all__ = ["HANDLERS"]


def get_connection(comms: Any, msg: Any) -> Any:
    if msg.conn_id not in comms.connections:
        return ErrorResponse(error=ErrorType.CONNECTION_NOT_FOUND, detail={"conn_id": msg.conn_id})
    return m.ConnectionResult(conn_id=msg.conn_id, **comms.connections[msg.conn_id])


HANDLERS: dict[str, Callable[[Any, Any], Any]] = {"GetConnection": get_connection}
