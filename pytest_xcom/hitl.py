"""Human in the loop (Airflow 3.1+): the hitl_detail table, and the answers a test gives.

A HITL operator (``HITLOperator``, ``ApprovalOperator``, ``HITLBranchOperator``, ``HITLEntryOperator``)
writes its request (``CreateHITLDetailPayload``) and waits for a person:

- before Airflow 3.3 it defers to ``HITLTrigger``, which polls the request's response
  (``GetHITLDetailResponse``) and, at its timeout, writes the defaults as the response
  (``UpdateHITLDetail``); the trigger runs on the run's clock (:mod:`pytest_xcom.triggerer`);
- from Airflow 3.3 it parks in ``awaiting_input`` (``AwaitInputTask``) and is resumed by the Core API
  when a person responds, or by the scheduler's ``check_awaiting_input_timeouts`` sweep at its
  ``response_timeout`` (defaults, else a timeout error), mirrored by :func:`resume_awaiting`.

``hitl_responses={task_id: {"chosen_options": [...], "params_input": {...}}}`` is the person: the
response is there as soon as the request is written, so the operator resumes at once with it, as after
a response through the UI (``responded_by`` names the user, default ``pytest``). Without one, the
operator ends as Airflow ends it at its timeout; with no timeout either, Airflow would wait for ever and
:class:`~pytest_xcom.triggerer.TriggerWaitError` says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from pytest_xcom import _compat, _msgs
from pytest_xcom.triggerer import TriggerWaitError

__all__ = [
    "answers",
    "check_responses",
    "check_trigger_ends",
    "create_detail",
    "detail_response",
    "resume_awaiting",
]

_RESPONSE_KEYS = {"chosen_options", "params_input", "responded_by"}


def check_responses(responses: Any) -> dict[str, dict[str, Any]]:
    """``hitl_responses`` as given, checked: task id -> response."""
    if not responses:
        return {}
    if not _compat.has_message("CreateHITLDetailPayload"):
        raise TypeError(_msgs.HITL_UNSUPPORTED)
    checked = {}
    for task_id, response in responses.items():
        if not isinstance(response, Mapping):
            raise TypeError(_msgs.hitl_responses_not_mapping(task_id, response))
        unknown = sorted(set(response) - _RESPONSE_KEYS)
        if unknown or "chosen_options" not in response:
            raise TypeError(_msgs.hitl_unknown_response_keys(task_id, unknown or sorted(response)))
        checked[task_id] = dict(response)
    return checked


@contextlib.contextmanager
def responses_given(comms: Any, responses: Mapping[str, Mapping[str, Any]] | None) -> Iterator[None]:
    """Give the HITL tasks of one call these responses; what was there before comes back."""
    given = check_responses(responses)
    table = comms.deployment.hitl_responses
    saved = dict(table)
    table.update(given)
    try:
        yield
    finally:
        table.clear()
        table.update(saved)


def answers(comms: Any, task_id: str) -> bool:
    """Whether the test gave a response for ``task_id``."""
    return task_id in comms.deployment.hitl_responses


def _user(response: Mapping[str, Any]) -> dict[str, str]:
    user = str(response.get("responded_by") or "pytest")
    return {"id": user, "name": user}


def create_detail(deployment: Any, msg: Any) -> Any:
    """CreateHITLDetailPayload: write the request; a response the test gave is recorded with it."""
    running = deployment.running
    detail: dict[str, Any] = {
        "request": msg.model_dump(exclude={"type"}),
        "chosen_options": None,
        "params_input": None,
        "responded_at": None,
        "responded_by_user": None,
    }
    response = deployment.hitl_responses.get(running.task_id) if running else None
    if response is not None:
        detail.update(
            chosen_options=list(response["chosen_options"]),
            params_input=dict(response.get("params_input") or {}),
            responded_at=_compat.timezone.utcnow(),
            responded_by_user=_user(response),
        )
    deployment.hitl_details[msg.ti_id] = detail
    return _compat.comms_messages.HITLDetailRequestResult(**detail["request"])


def detail_response(deployment: Any, msg: Any) -> Any:
    """GetHITLDetailResponse (and UpdateHITLDetail, which writes first): the response part."""
    detail = deployment.hitl_details.get(msg.ti_id)
    if detail is None:
        raise LookupError(f"no Human-in-the-loop request for task instance {msg.ti_id}")
    if type(msg).__name__ == "UpdateHITLDetail":
        detail.update(
            chosen_options=list(msg.chosen_options),
            params_input=dict(msg.params_input or {}),
            responded_at=_compat.timezone.utcnow(),
            responded_by_user=None,
        )
    return _compat.hitl_response_result()(
        response_received=detail["responded_at"] is not None,
        chosen_options=detail["chosen_options"],
        params_input=detail["params_input"],
        responded_at=detail["responded_at"],
        responded_by_user=detail["responded_by_user"],
    )


def resume_awaiting(deployment: Any, ti: Any, awaiting: Any, clock: Any) -> tuple[str, Any]:
    """How a task parked in ``awaiting_input`` resumes: (next_method, next_kwargs).

    With a response, at once (the Core API's ``handle_event_submit``); without one, at its
    ``response_timeout`` on the run's clock, as ``check_awaiting_input_timeouts`` resolves it. A
    response the Core API refuses is a ValueError: in Airflow nobody could give it.
    """
    detail = deployment.hitl_details.get(ti.id)
    if detail is not None and detail["responded_at"] is not None:
        refusal = _refusal(detail["request"], detail["chosen_options"])
        if refusal is not None:
            raise ValueError(_msgs.hitl_response_refused(ti.task_id, refusal))
        return awaiting.next_method, _compat.resume_kwargs(_event(detail, timedout=False))
    if awaiting.timeout is None:
        raise TriggerWaitError(_msgs.hitl_waits_for_ever(ti.task_id))
    clock.advance(timedelta(seconds=_seconds(awaiting.timeout)))
    request = (detail or {}).get("request") or {}
    if detail is not None and request.get("defaults") is not None:
        params = request.get("params") or {}
        detail.update(
            chosen_options=list(request["defaults"]),
            params_input={
                key: value["value"] if isinstance(value, dict) and "value" in value else value
                for key, value in params.items()
            },
            responded_at=_compat.timezone.utcnow(),
            responded_by_user=None,
        )
        return awaiting.next_method, _compat.resume_kwargs(_event(detail, timedout=True))
    timeout_event = {
        "error": "The Human-in-the-loop response timeout has passed without a response.",
        "error_type": "timeout",
    }
    return awaiting.next_method, _compat.resume_kwargs(timeout_event)


def _refusal(request: Mapping[str, Any], chosen: list[str]) -> str | None:
    # The checks of the Core API's update_hitl_detail in the Airflow that parks tasks in awaiting_input
    # (before, it stores any response and the operator fails on one outside its options).
    allowed = set(request.get("options") or [])
    if invalid := set(chosen) - allowed:
        return f"Invalid options {sorted(invalid)}; allowed options are {sorted(allowed)}."
    if not request.get("multiple") and len(chosen) > 1:
        return "Multiple options chosen but this Human-in-the-loop task accepts only a single option."
    return None


def check_trigger_ends(defer: Any, task_id: str, answered: bool) -> None:
    """Refuse to run a HITLTrigger that would poll for ever: no response given and no timeout."""
    if answered or not defer.classpath.endswith(".HITLTrigger"):
        return
    if _compat.trigger_kwargs(defer.trigger_kwargs).get("timeout_datetime") is None:
        raise TriggerWaitError(_msgs.hitl_waits_for_ever(task_id))


def _seconds(timeout: Any) -> float:
    return timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)


def _event(detail: dict[str, Any], *, timedout: bool) -> dict[str, Any]:
    # HITLDetail.as_resume_event_payload: what execute_complete reads.
    return {
        "chosen_options": list(detail["chosen_options"] or []),
        "params_input": detail["params_input"] or {},
        "responded_at": detail["responded_at"],
        "responded_by_user": detail["responded_by_user"],
        "timedout": timedout,
    }
