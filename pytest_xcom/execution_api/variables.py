"""Variables (the execution API's ``variables`` routes), from the channel's ``variables``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytest_xcom._compat import ErrorResponse, ErrorType
from pytest_xcom._compat import comms_messages as m

__all__ = ["HANDLERS"]


def get_variable(comms: Any, msg: Any) -> Any:
    if msg.key not in comms.variables:
        return ErrorResponse(error=ErrorType.VARIABLE_NOT_FOUND, detail={"key": msg.key})
    return m.VariableResult(key=msg.key, value=comms.variables[msg.key])


def put_variable(comms: Any, msg: Any) -> None:
    comms.variables[msg.key] = msg.value


def delete_variable(comms: Any, msg: Any) -> None:
    comms.variables.pop(msg.key, None)


def get_variable_keys(comms: Any, msg: Any) -> Any:
    keys = sorted(k for k in comms.variables if not msg.prefix or k.startswith(msg.prefix))
    return m.VariableKeysResult(keys=keys[msg.offset : msg.offset + msg.limit], total_entries=len(keys))


HANDLERS: dict[str, Callable[[Any, Any], Any]] = {
    "GetVariable": get_variable,
    "PutVariable": put_variable,
    "DeleteVariable": delete_variable,
    "GetVariableKeys": get_variable_keys,
}
