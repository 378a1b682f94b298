"""Human in the loop (the execution API's ``hitl`` routes, and the triggerer's answers to HITLTrigger):
the hitl_detail table of :mod:`pytest_xcom.hitl`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytest_xcom import hitl
from pytest_xcom.execution_api import ServerError

__all__ = ["HANDLERS"]


def create_hitl_detail(comms: Any, msg: Any) -> Any:
    return hitl.create_detail(comms.deployment, msg)


def hitl_detail_response(comms: Any, msg: Any) -> Any:
    try:
        return hitl.detail_response(comms.deployment, msg)
    except LookupError as e:
        raise ServerError(404, "not_found", str(e)) from None


HANDLERS: dict[str, Callable[[Any, Any], Any]] = {
    "CreateHITLDetailPayload": create_hitl_detail,
    "GetHITLDetailResponse": hitl_detail_response,
    "UpdateHITLDetail": hitl_detail_response,
}
