"""Human in the loop: the hitl_detail table and the answers a test gives (Airflow 3.1+).

Stub replaced below.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any


@contextlib.contextmanager
def responses_given(comms: Any, responses: Mapping[str, Mapping[str, Any]] | None) -> Iterator[None]:
    deployment = comms.deployment
    saved = dict(deployment.hitl_responses)
    deployment.hitl_responses.update({k: dict(v) for k, v in (responses or {}).items()})
    try:
        yield
    finally:
        deployment.hitl_responses.clear()
        deployment.hitl_responses.update(saved)
