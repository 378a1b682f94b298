"""The in-memory API server's routes, one module per route module of Airflow's execution API
(``airflow/api_fastapi/execution_api/routes/``) or group of them.

Each module maps the comms messages it answers to a handler (``HANDLERS``: message type name ->
``handler(comms, msg)``); :class:`~pytest_xcom.comms.InMemorySupervisorComms` dispatches to them with
itself as ``comms``, whose tables (store, variables, connections, deployment, ...) they answer from. The
XCom routes, with the URL routing a key goes through, are in :mod:`pytest_xcom.comms` itself.

A handler returns the response (or an ``ErrorResponse`` where the supervisor hands the task one as a
value), raises :class:`ServerError` where the API server answers with an HTTP error, or returns None.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["ServerError", "to_db_json"]


class ServerError(Exception):
    """An HTTP error answer from the API server (turned into API_SERVER_ERROR, as the supervisor does)."""

    def __init__(self, status_code: int, reason: str, message: str, *, detail: Any = None):
        super().__init__(message)
        self.status_code = status_code
        # The response body: Airflow's routes answer {"detail": {reason, message}}; FastAPI's request
        # validation answers {"detail": [errors]}.
        self.detail = detail or {"detail": {"reason": reason, "message": message}}


def to_db_json(value: Any) -> str:
    """A JSON value as the API server receives and stores it."""
    # The supervisor's HTTP client sends the value as the request body with exactly these settings
    # (httpx ``json=``): NaN and infinities are refused, non-ASCII text must encode as UTF-8.
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    body.encode("utf-8")
    return body
